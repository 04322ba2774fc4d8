/**
 * How fast this isolate moves sessions to their new first choice (`affinity.rebalance.rate`): a token
 * bucket of `rate` moves a second, holding at most one second's worth (and at least one move), so an
 * origin added to a busy deployment fills up over minutes rather than taking a wave of moved sessions
 * in one second. Each isolate has its own, so the fleet's rate is `rate` × isolates serving such
 * sessions; a bucket only refills with time. Pure: `now` (ms) is passed in.
 */
export class RebalanceRate {
  #tokens: number;
  #at: number | undefined;
  readonly #capacity: number;

  constructor(readonly rate: number) {
    this.#capacity = Math.max(1, rate);
    this.#tokens = this.#capacity;
  }

  /** Takes one move if the bucket has one at `now`. */
  take(now: number): boolean {
    if (this.#at !== undefined) {
      this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#at) / 1000) * this.rate);
    }
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
