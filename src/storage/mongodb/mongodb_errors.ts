import { MongoError, MongoParseError, MongoServerError } from 'mongodb';
import { StoreUnavailableError } from '../../shared/errors.ts';

/** Why the database cannot be used, in the words an operator searches for. */
export type MongoProblem = 'bad_uri' | 'auth_failed' | 'unreachable' | 'timeout' | 'server_error';

const AUTH_CODES = new Set([18, 13, 11]); // AuthenticationFailed, Unauthorized, UserNotFound

/** Classifies a driver error for the log line and the health output. */
export function classify(err: unknown): MongoProblem {
  if (err instanceof MongoParseError) return 'bad_uri';
  const e = err as { name?: string; code?: unknown; message?: string };
  if (e?.name === 'MongoServerSelectionError' || e?.name === 'MongoTopologyClosedError' || e?.name === 'MongoNotConnectedError') {
    return /auth/i.test(e.message ?? '') ? 'auth_failed' : 'unreachable';
  }
  if (e?.name === 'MongoNetworkTimeoutError' || e?.name === 'MongoOperationTimeoutError') return 'timeout';
  if (e?.name === 'MongoNetworkError' || e?.name === 'MongoPoolClearedError') return 'unreachable';
  if (typeof e?.code === 'number' && AUTH_CODES.has(e.code)) return 'auth_failed';
  if (/authentication failed|auth(?:entication)? mechanism/i.test(e?.message ?? '')) return 'auth_failed';
  return 'server_error';
}

const EXPLAIN: Record<MongoProblem, string> = {
  bad_uri: 'MONGODB_URI cannot be parsed',
  auth_failed: 'MongoDB rejected the credentials in MONGODB_URI (authentication failed)',
  unreachable: 'MongoDB is unreachable (no server answered within the selection timeout)',
  timeout: 'MongoDB did not answer in time',
  server_error: 'MongoDB answered with an error',
};

/** A one-line operator message; never contains the URI (it may carry a password). */
export function explain(problem: MongoProblem): string {
  return EXPLAIN[problem];
}

/** E11000: a unique index refused the write. */
export function isDuplicateKey(err: unknown): err is MongoServerError {
  return err instanceof MongoError && (err as MongoServerError).code === 11000;
}

/** The server does not implement something (FerretDB 1.x: TTL and partial indexes). */
export function isNotImplemented(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return err instanceof MongoServerError && (code === 238 || code === 115 || code === 67 || code === 2);
}

/** Wraps a driver failure so the adapter bridge answers 503 and readiness turns false. */
export function unavailable(err: unknown): StoreUnavailableError {
  if (err instanceof StoreUnavailableError) return err;
  const problem = classify(err);
  return new StoreUnavailableError(`mongodb: ${explain(problem)}`, err);
}
