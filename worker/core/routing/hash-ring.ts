/**
 * A classic consistent-hash ring with virtual nodes (the Ketama family used by NGINX, HAProxy and
 * Envoy's ring hash), kept for comparison with rendezvous hashing and for operators who want it.
 *
 * Each origin owns `POINTS_PER_WEIGHT × weight` points on a 32-bit ring; a key belongs to the first
 * point clockwise from its hash, and its failover order is the sequence of distinct owners met
 * further clockwise. The cost of the ring: shares drift from the weights by the luck of point
 * placement, and a departing origin's keys go to whichever origins own the next points, unevenly.
 */
import type { OriginSelector, WeightedOrigin } from './selector';
import { SESSION_KEY_SEED, murmur3 } from './hash';

/** Points per unit of weight: absolute, so that re-weighting one origin moves only its own keys. */
export const POINTS_PER_WEIGHT = 100;
/** Bound on the ring's size (memory and build time); larger configurations are scaled down uniformly. */
export const MAX_POINTS = 200_000;
const POINT_SEED = 0x5eed_0004;
/** Origin indices fit in 10 bits (at most 1000 origins), so (position, owner) packs into a double. */
const OWNER_SPAN = 1024;

export function createRingSelector(origins: readonly WeightedOrigin[]): OriginSelector {
  const { positions, owners } = buildRing(origins);
  const ownerCount = new Set(owners).size;

  return {
    pick(key, accept, wanted) {
      const chosen: number[] = [];
      if (positions.length === 0) return chosen;
      const seen = new Set<number>();
      let point = firstPointAtOrAfter(positions, murmur3(key, SESSION_KEY_SEED));
      for (let step = 0; step < positions.length && chosen.length < wanted && seen.size < ownerCount; step++) {
        const owner = owners[point]!;
        if (!seen.has(owner)) {
          seen.add(owner);
          if (accept(owner)) chosen.push(owner);
        }
        point = point + 1 === positions.length ? 0 : point + 1;
      }
      return chosen;
    },
  };
}

function pointCounts(origins: readonly WeightedOrigin[]): number[] {
  const wanted = origins.map((o) => (o.weight > 0 ? Math.max(1, Math.round(POINTS_PER_WEIGHT * o.weight)) : 0));
  const total = wanted.reduce((sum, n) => sum + n, 0);
  if (total <= MAX_POINTS) return wanted;
  const scale = MAX_POINTS / total;
  return wanted.map((n) => (n > 0 ? Math.max(1, Math.round(n * scale)) : 0));
}

function buildRing(origins: readonly WeightedOrigin[]): { positions: Uint32Array; owners: Uint16Array } {
  const counts = pointCounts(origins);
  const packed = new Float64Array(counts.reduce((sum, n) => sum + n, 0));
  let next = 0;
  origins.forEach((origin, index) => {
    for (let replica = 0; replica < counts[index]!; replica++) {
      packed[next++] = murmur3(`${origin.id}#${replica}`, POINT_SEED) * OWNER_SPAN + index;
    }
  });
  packed.sort();
  const positions = new Uint32Array(packed.length);
  const owners = new Uint16Array(packed.length);
  packed.forEach((value, i) => {
    owners[i] = value % OWNER_SPAN;
    positions[i] = (value - owners[i]!) / OWNER_SPAN;
  });
  return { positions, owners };
}

/** Binary search for the first point at or after `hash`, wrapping to 0 past the end of the ring. */
function firstPointAtOrAfter(positions: Uint32Array, hash: number): number {
  let low = 0;
  let high = positions.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (positions[mid]! < hash) low = mid + 1;
    else high = mid;
  }
  return low === positions.length ? 0 : low;
}
