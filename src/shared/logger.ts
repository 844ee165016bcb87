import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger, type DestinationStream } from 'pino';

/** Per-request context carried through async calls so every log line has the request id. */
export interface RequestContext {
  reqId: string;
  ip?: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

/**
 * Paths pino blanks out wherever they appear. Secrets should never reach a log call in the first
 * place; this is the second line of defence.
 */
export const REDACT_PATHS = [
  'authorization',
  'cookie',
  'password',
  'client_secret',
  'code_verifier',
  'access_token',
  'refresh_token',
  'id_token',
  'registration_access_token',
  'token',
  'privateKey',
  '*.authorization',
  '*.cookie',
  '*["set-cookie"]',
  '*.password',
  '*.client_secret',
  '*.code_verifier',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.registration_access_token',
  '*.token',
  '*.privateKey',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

export interface LoggerOptions {
  level: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to capture lines. */
  destination?: DestinationStream;
}

/** JSON lines, one event each, with the request id of the current request mixed in. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: 'gatehouse',
      level: options.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => {
        const ctx = requestContext.getStore();
        return ctx ? { reqId: ctx.reqId } : {};
      },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

export type { Logger };
