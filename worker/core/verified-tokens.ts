/**
 * A bounded memory of tokens this isolate has already verified, so that a session's every request
 * does not pay for the same HMAC again (a WebCrypto verification costs more than everything else a
 * steady request does in JavaScript).
 *
 * Only what is certain is remembered: the exact token text maps to what its signature proved (its
 * claims and which key signed it). What depends on the moment is never cached: the caller still checks
 * expiry against `now` on every request, and the routing that follows reads the configuration and
 * health as they are. A cache belongs to one set of keys: the owner makes a new one when the keys
 * change, so a token verified under a retired secret is never taken on the word of a cache.
 *
 * Memory is bounded: at most `capacity` entries; past it, the oldest entry is dropped (insertion
 * order, which a Map keeps), so a flood of distinct forged tokens can evict only what it inserted
 * itself: nothing is inserted for a token that did not verify.
 */

export interface VerifiedTokensOptions {
  /**
   * Entries kept at most. A token is under 3 KiB (an envelope; an affinity cookie is under 200 bytes),
   * so the default bounds the memory at about 2.5 MiB for cookies.
   * @default 10000
   */
  capacity?: number;
}

export class VerifiedTokens<T> {
  readonly #entries = new Map<string, T>();
  readonly #capacity: number;

  constructor({ capacity = 10_000 }: VerifiedTokensOptions = {}) {
    this.#capacity = capacity;
  }

  /** What verifying `token` proved, if this isolate verified it before. */
  get(token: string): T | undefined {
    return this.#entries.get(token);
  }

  /** Remembers a token whose signature verified. */
  remember(token: string, proved: T): void {
    if (this.#entries.size >= this.#capacity && !this.#entries.has(token)) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(token, proved);
  }

  get size(): number {
    return this.#entries.size;
  }
}
