/**
 * Errors with stable string codes. Callers switch on `code`, never on `message`.
 * Anything thrown that is not a GatehouseError is a bug and is reported as `server_error`.
 */
export class GatehouseError extends Error {
  /** Stable machine-readable code, e.g. `ERR_CONFIG_INVALID`. */
  readonly code: string;
  /** HTTP status to use when this error reaches a client. */
  readonly status: number;
  /** Whether `message` may be shown to the client. */
  readonly expose: boolean;

  constructor(code: string, message: string, options: { status?: number; expose?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? 500;
    this.expose = options.expose ?? this.status < 500;
  }
}

/** A setting is missing or malformed. `problems` has one line per variable. Exit status 2. */
export class ConfigError extends GatehouseError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super('ERR_CONFIG_INVALID', problems.join('\n'));
    this.problems = problems;
  }
}

/** The store cannot be reached or answered with an error. Mapped to 503 `temporarily_unavailable`. */
export class StoreUnavailableError extends GatehouseError {
  constructor(message: string, cause?: unknown) {
    super('ERR_STORE_UNAVAILABLE', message, { status: 503, expose: false, cause });
  }
}

/** A record that must be unique already exists (usernames, client ids). */
export class AlreadyExistsError extends GatehouseError {
  constructor(what: string) {
    super('ERR_ALREADY_EXISTS', `${what} already exists`, { status: 409 });
  }
}

/** A record that was asked for by name does not exist. */
export class NotFoundError extends GatehouseError {
  constructor(what: string) {
    super('ERR_NOT_FOUND', `${what} not found`, { status: 404 });
  }
}

/** Command-line usage error. Exit status 2. */
export class UsageError extends GatehouseError {
  constructor(message: string) {
    super('ERR_USAGE', message, { status: 400 });
  }
}
