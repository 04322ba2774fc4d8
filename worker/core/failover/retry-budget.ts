/**
 * This isolate's retry budget, as Finagle and Linkerd keep one: resends of attempts that may have
 * reached their origin (a thrown error, a timeout, Cloudflare's 520 or 524) are allowed up to a share
 * of the requests of the last few seconds, plus a small reserve per second so that a quiet isolate can
 * still fail over. When origins slow down or break together, every request would otherwise double
 * the load on the survivors just as they take the failed origins' sessions. Resends of attempts that
 * never reached their origin (Cloudflare's 521, 522, ...) are not counted: they are the request's
 * only execution. A token bucket rather than a limit of resends in flight (Envoy's): an origin that
 * dies under load fails every request it holds at once, and those are exactly the ones to re-send.
 * Pure: `now` is passed in.
 */

export interface RetryBudgetOptions {
  /**
   * Resends allowed per request of the window.
   * @default 0.2 (Linkerd's retryRatio; Envoy's budget_percent is the same 20%)
   */
  ratio?: number;
  /**
   * Resends allowed per second of the window however few requests there were.
   * @default 10 (Linkerd's minRetriesPerSecond)
   */
  minPerSecond?: number;
  /**
   * Seconds over which requests and resends are counted.
   * @default 10 (Linkerd's ttl)
   */
  windowSeconds?: number;
}

export class RetryBudget {
  readonly #ratio: number;
  readonly #reserve: number;
  /** Requests and resends per second of the window, in a ring; `#second` is the slot of `now`. */
  readonly #requests: Uint32Array;
  readonly #resends: Uint32Array;
  #second = 0;

  constructor({ ratio = 0.2, minPerSecond = 10, windowSeconds = 10 }: RetryBudgetOptions = {}) {
    this.#ratio = ratio;
    this.#reserve = minPerSecond * windowSeconds;
    this.#requests = new Uint32Array(windowSeconds);
    this.#resends = new Uint32Array(windowSeconds);
  }

  /** Counts a proxied request: it adds `ratio` of a resend to the budget. */
  countRequest(now: number): void {
    this.#requests[this.#slot(now)]!++;
  }

  /** Takes one resend from the budget, if it has one. */
  tryResend(now: number): boolean {
    const slot = this.#slot(now);
    const requests = this.#requests.reduce((sum, n) => sum + n, 0);
    const resends = this.#resends.reduce((sum, n) => sum + n, 0);
    if (resends + 1 > this.#reserve + this.#ratio * requests) return false;
    this.#resends[slot]!++;
    return true;
  }

  /** The slot of `now`, emptying the slots of the seconds that passed since the last call. */
  #slot(now: number): number {
    const second = Math.floor(now / 1000);
    const size = this.#requests.length;
    const passed = Math.min(size, Math.max(0, second - this.#second));
    for (let i = 1; i <= passed; i++) {
      const slot = (this.#second + i) % size;
      this.#requests[slot] = 0;
      this.#resends[slot] = 0;
    }
    if (second > this.#second) this.#second = second;
    return this.#second % size;
  }
}
