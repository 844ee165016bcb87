import { inspect } from 'node:util';

/**
 * A secret value (client secret, private key) that cannot leak by accident: JSON, string
 * conversion and `util.inspect` (what loggers and console use) all print `(hidden)`.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The value itself, for the one place that needs it. */
  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return '(hidden)';
  }

  toString(): string {
    return '(hidden)';
  }

  [inspect.custom](): string {
    return '(hidden)';
  }
}
