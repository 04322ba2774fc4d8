/**
 * Weighted rendezvous (highest random weight) hashing.
 *
 * Each origin scores `weight / -ln(u)`, with `u` a uniform hash of (key, origin); the highest score
 * wins. That score is an exponential race, so an origin wins with probability weight / total weight,
 * and when an origin leaves, each of its keys goes to its own runner-up: the orphaned keys spread over
 * all survivors in proportion to weight and no other key moves. There is nothing to build but the
 * per-origin hashes.
 */
import type { OriginSelector, WeightedOrigin } from './selector';
import { SESSION_KEY_SEED, hashPair, murmur3, unitInterval } from './hash';

const ORIGIN_SEED = 0x5eed_0002;
const PAIR_SEED = 0x5eed_0003;

export function createRendezvousSelector(origins: readonly WeightedOrigin[]): OriginSelector {
  const count = origins.length;
  const originHashes = Uint32Array.from(origins, (origin) => murmur3(origin.id, ORIGIN_SEED));
  const weights = Float64Array.from(origins, (origin) => origin.weight);
  // Reused between calls: pick() never yields, so no two calls can interleave.
  const scores = new Float64Array(count);

  function score(keyHash: number, index: number): number {
    const u = unitInterval(hashPair(keyHash, originHashes[index]!, PAIR_SEED));
    return weights[index]! / -Math.log(u);
  }

  return {
    pick(key, accept, wanted) {
      const keyHash = murmur3(key, SESSION_KEY_SEED);
      for (let i = 0; i < count; i++) {
        scores[i] = weights[i]! > 0 && accept(i) ? score(keyHash, i) : -1;
      }
      return takeBest(scores, wanted);
    },
  };
}

/** Indices of the `wanted` highest non-negative scores, best first (ties go to the lower index). */
function takeBest(scores: Float64Array, wanted: number): number[] {
  const chosen: number[] = [];
  while (chosen.length < wanted) {
    let best = -1;
    let bestScore = -1;
    for (let i = 0; i < scores.length; i++) {
      if (scores[i]! > bestScore) {
        bestScore = scores[i]!;
        best = i;
      }
    }
    if (best < 0) break;
    chosen.push(best);
    scores[best] = -1;
  }
  return chosen;
}
