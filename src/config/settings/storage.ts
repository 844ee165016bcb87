import { z } from 'zod';
import { duration, setting, str } from '../setting.ts';

/** Where state lives. */
export const storage = {
  store: setting({
    env: 'GATEHOUSE_STORE',
    schema: z.enum(['sqlite', 'mongodb', 'memory'], { message: 'must be sqlite, mongodb or memory' }),
    type: 'sqlite | mongodb | memory',
    description: 'Storage backend; defaults to mongodb when MONGODB_URI is set, otherwise sqlite. memory loses everything on exit.',
  }),
  mongodbUri: setting({
    env: 'MONGODB_URI',
    schema: z.string().regex(/^mongodb(\+srv)?:\/\/.+/, 'must be a mongodb:// or mongodb+srv:// URI'),
    type: 'URI',
    description: 'MongoDB connection string (database name taken from the path); selects the mongodb store.',
    secret: true,
  }),
  mongodbTimeout: setting({
    env: 'GATEHOUSE_MONGODB_TIMEOUT',
    schema: duration(1, 120),
    default: '5s',
    type: 'duration',
    description: 'MongoDB server-selection, connect and per-operation timeout (socket timeout is 3×): how long a request waits before answering 503 while the database is unreachable or not answering.',
  }),
  sqliteFile: setting({
    env: 'GATEHOUSE_SQLITE_FILE',
    schema: str(),
    type: 'path',
    description: 'SQLite database file; defaults to gatehouse.db in the data directory.',
  }),
} as const;
