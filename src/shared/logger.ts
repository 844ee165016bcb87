import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger, type DestinationStream } from 'pino';

/** Per-request context carried through async calls so every log line has the request id. */
export interface RequestContext {
  reqId: string;
  ip?: string;
  /**
   * Audit events of this request not yet written: the request's one log line carries them (see
   * `requestLogging`). Absent outside a request, and once that line is written.
   */
  audit?: Array<Record<string, unknown>>;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

/**
 * Keys whose values are blanked out wherever they appear in a logged object, at any depth.
 * Secrets should never reach a log call in the first place; this is the second line of defence.
 */
export const REDACTED_KEYS: ReadonlySet<string> = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'password',
  'client_secret',
  'code_verifier',
  'access_token',
  'refresh_token',
  'id_token',
  'registration_access_token',
  'token',
  'privateKey',
]);

const CENSOR = '[redacted]';
const MAX_DEPTH = 8;

/**
 * Returns `value` with every REDACTED_KEYS entry censored, copying only the objects on the way to
 * one (the caller's object is never changed) and returning the same object when there is none.
 * Used instead of pino's `redact` option: with wildcard paths that clones and re-parses every path
 * for every key of every line, which was the largest cost Gatehouse added to a token request.
 * pino does not pass child-logger bindings through it: give `.child()` no secrets.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = redactSecrets(value[i], depth + 1);
      if (v !== value[i]) (copy ??= [...value])[i] = v;
    }
    return (copy ?? value) as T;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value; // Errors, Buffers, class instances: serializers handle them
  let copy: Record<string, unknown> | undefined;
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    const next = REDACTED_KEYS.has(key) && v !== undefined ? CENSOR : redactSecrets(v, depth + 1);
    if (next !== v) (copy ??= { ...(value as Record<string, unknown>) })[key] = next;
  }
  return (copy ?? value) as T;
}

export interface LoggerOptions {
  level: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to capture lines. */
  destination?: DestinationStream;
}

/**
 * pino's `isoTime` (`,"time":"<ISO 8601>"`), the string built once per millisecond: a busy server
 * writes several lines in the same millisecond, and `Date#toISOString` was ~2% of a request's CPU.
 */
function isoTimeOncePerMs(): () => string {
  let ms = -1;
  let text = '';
  return () => {
    const now = Date.now();
    if (now !== ms) {
      ms = now;
      text = `,"time":"${new Date(now).toISOString()}"`;
    }
    return text;
  };
}

/** Longest a written log line waits in the buffer. */
const LOG_FLUSH_MS = 200;

/**
 * JSON lines, one event each, with the request id of the current request mixed in. Lines go to
 * stdout through an asynchronous buffer (written in 4 KiB batches, or after at most 200 ms, off the request path);
 * `logger.flush(cb)` writes what is buffered, and the buffer is written synchronously when the
 * process exits, so a line logged before the end is never lost.
 */
export function createLogger(options: LoggerOptions): Logger {
  let destination = options.destination;
  if (!destination) {
    // periodicFlush: a quiet server's lines (start-up, a lone request) go out within it, not when 4 KiB fill up.
    const stdout = pino.destination({ fd: 1, sync: false, minLength: 4096, periodicFlush: LOG_FLUSH_MS });
    process.once('exit', () => {
      try {
        stdout.flushSync();
      } catch {
        // stdout already closed: nothing left to write to
      }
    });
    destination = stdout;
  }
  return pino(
    {
      name: 'gatehouse',
      level: options.level,
      base: { pid: process.pid },
      timestamp: isoTimeOncePerMs(),
      formatters: { level: (label) => ({ level: label }), log: (obj) => redactSecrets(obj) },
      mixin: () => {
        const ctx = requestContext.getStore();
        return ctx ? { reqId: ctx.reqId } : {};
      },
    },
    destination,
  );
}

export type { Logger };

/** oidc-provider's warning that a body was read before it: Gatehouse does that on purpose (http/form_body.ts). */
const EXPECTED_NOTICE = 'already parsed request body detected';

/**
 * oidc-provider prints its notices with `console.info` / `console.warn` as plain text
 * (`oidc-provider WARNING: …`), which would break "one JSON event per line" on stdout and stderr.
 * After this call they are log lines (`event: "oidc_provider_notice"`, at info or warn), except
 * the already-parsed-body warning, which describes how Gatehouse works and is dropped. Anything
 * else printed through `console` passes through unchanged. Process-wide: `gatehouse serve` calls
 * it once.
 */
export function routeLibraryNotices(logger: Logger): void {
  for (const level of ['info', 'warn'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      const text = typeof args[0] === 'string' ? args[0].replace(/\x1b\[[0-9;]*m/g, '') : undefined;
      if (args.length !== 1 || !text?.startsWith('oidc-provider ')) return original(...args);
      if (text.includes(EXPECTED_NOTICE)) return;
      logger[level]({ event: 'oidc_provider_notice' }, text);
    };
  }
}
