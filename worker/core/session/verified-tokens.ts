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
 * Memory is bounded in bytes, not entries: an envelope at the value limit is some 25 times an
 * affinity cookie (10,000 of them took ~48 MB of heap in Node, and an isolate has 128 MB). Each entry
 * is charged its token's length, what the owner says the proof holds (`bytesOf`: an envelope's value)
 * and a fixed overhead; past `maxBytes`, the oldest entries are dropped (insertion order, which a Map
 * keeps), so a flood of distinct forged tokens can evict only what it inserted itself: nothing is
 * inserted for a token that did not verify.
 */

/** What a Map entry, its key string and a small proof object cost beyond their text, about (V8). */
export const ENTRY_OVERHEAD_BYTES = 160;

export interface VerifiedTokensOptions<T> {
  /**
   * Bytes kept at most, as charged (token length + `bytesOf(proof)` + ENTRY_OVERHEAD_BYTES). The
   * default holds ~20,000 affinity cookies, or ~800 envelopes at the 2,048-byte value limit.
   * @default 6 MiB
   */
  maxBytes?: number;
  /** The bytes a proof holds beyond a fixed-size object (an envelope's value). @default none */
  bytesOf?: (proof: T) => number;
}

export class VerifiedTokens<T> {
  readonly #entries = new Map<string, { proof: T; bytes: number }>();
  readonly #maxBytes: number;
  readonly #bytesOf: (proof: T) => number;
  #bytes = 0;

  constructor({ maxBytes = 6 * 1024 * 1024, bytesOf = () => 0 }: VerifiedTokensOptions<T> = {}) {
    this.#maxBytes = maxBytes;
    this.#bytesOf = bytesOf;
  }

  /** What verifying `token` proved, if this isolate verified it before. */
  get(token: string): T | undefined {
    return this.#entries.get(token)?.proof;
  }

  /** Remembers a token whose signature verified; one larger than the whole budget is not kept. */
  remember(token: string, proof: T): void {
    this.#forget(token);
    const bytes = token.length + this.#bytesOf(proof) + ENTRY_OVERHEAD_BYTES;
    if (bytes > this.#maxBytes) return;
    while (this.#bytes + bytes > this.#maxBytes) this.#forget(this.#entries.keys().next().value!);
    this.#entries.set(token, { proof, bytes });
    this.#bytes += bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The bytes charged for what is kept: never above `maxBytes`. */
  get bytes(): number {
    return this.#bytes;
  }

  #forget(token: string): void {
    const entry = this.#entries.get(token);
    if (!entry) return;
    this.#entries.delete(token);
    this.#bytes -= entry.bytes;
  }
}
