/**
 * The clock a test server's features read (`startGatehouse(config, logger, { now })`, the
 * device flow's polling pace). It stands still at its start time until a test moves it ahead,
 * so a poll is "too soon" or "on time" by what the test says, not by how loaded the machine is,
 * and no test sleeps through a polling interval. oidc-provider's own expiry reads real time.
 */
export class TestClock {
  #ms = Date.now();

  /** Current time in epoch milliseconds, as the server's features see it. */
  readonly now = (): number => this.#ms;

  /** Moves the clock `ms` milliseconds ahead. */
  advance(ms: number): void {
    this.#ms += ms;
  }
}
