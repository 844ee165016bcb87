/**
 * The clock a test server's features read (`startGatehouse(config, logger, { now })`, the
 * device flow's polling pace). It stands still at its start time until a test moves it ahead,
 * so a poll is "too soon" or "on time" by what the test says, not by how loaded the machine is,
 * and no test sleeps through a polling interval. oidc-provider's own expiry reads real time.
 */
export class TestClock {
  /** Where the clock stands while it stands still; undefined once it follows real time. */
  #frozen: number | undefined = Date.now();
  #offset = 0;

  /** Current time in epoch milliseconds, as the server's features see it. */
  readonly now = (): number => this.#frozen ?? Date.now() + this.#offset;

  /** Moves the clock `ms` milliseconds ahead. */
  advance(ms: number): void {
    if (this.#frozen === undefined) this.#offset += ms;
    else this.#frozen += ms;
  }

  /**
   * From now on the clock runs with real time (from where it stands): for a client the test does
   * not drive, such as an sshd's PAM module that paces its polls by the wall clock.
   */
  followRealTime(): void {
    if (this.#frozen === undefined) return;
    this.#offset = this.#frozen - Date.now();
    this.#frozen = undefined;
  }
}
