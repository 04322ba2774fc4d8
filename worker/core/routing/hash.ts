/**
 * Deterministic 32-bit hashing for origin selection.
 *
 * Every isolate, every deployment and every benchmark must rank a key the same way, so nothing here
 * depends on a random seed, the platform or `nodejs_compat`. MurmurHash3 (x86, 32-bit) is fast with
 * `Math.imul` and well distributed; it runs over UTF-16 code units (two per 32-bit block), so it is
 * stable for any JavaScript string but not byte-compatible with other MurmurHash3 implementations.
 */

/** Seed of the session-key hash, shared by both algorithms so that they see the same key space. */
export const SESSION_KEY_SEED = 0x5eed_0001;

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixBlock(hash: number, block: number): number {
  let k = Math.imul(block, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  let h = hash ^ k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3's finaliser: every input bit affects every output bit. */
export function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3 of a string's UTF-16 code units, as an unsigned 32-bit integer. */
export function murmur3(text: string, seed: number): number {
  let h = seed | 0;
  const pairs = text.length >>> 1;
  for (let i = 0; i < pairs; i++) {
    const block = text.charCodeAt(2 * i) | (text.charCodeAt(2 * i + 1) << 16);
    h = mixBlock(h, block);
  }
  if (text.length & 1) {
    let k = Math.imul(text.charCodeAt(text.length - 1), C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  return fmix32(h ^ (text.length * 2));
}

/** MurmurHash3 of the two words `a`, `b`: a well-mixed hash of a (key, origin) pair. */
export function hashPair(a: number, b: number, seed: number): number {
  return fmix32(mixBlock(mixBlock(seed | 0, a), b) ^ 8);
}

/** Maps a 32-bit hash into the open interval (0, 1), never 0 or 1, so that `ln` is finite. */
export function unitInterval(hash: number): number {
  return (hash + 0.5) / 4_294_967_296;
}
