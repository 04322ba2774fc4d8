/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam, "Consistent Hashing with
 * Bounded Loads", 2018; HAProxy's `hash-balance-factor`, Envoy's `hash_balance_factor`): a session
 * being placed skips an origin whose load is above `factor` × the weighted mean and takes the next
 * origin of its own preference list, so no origin carries more than `factor` times its share while
 * the hash still decides everything else. Pure: loads and weights in, a test per origin out.
 *
 * The bound counts the session being placed (the "+1" of bounded loads, as HAProxy counts the request
 * it is about to send): an origin's capacity is `factor` × (total load + 1) × its share of the weight,
 * and never less than 1, so an idle fleet, or one whose loads are fractions of a request, is placed by
 * the hash alone: a few requests here and there are noise, not load. The least loaded origin per unit
 * of weight is always below its bound (its load is at most the mean, the bound is above it), so the
 * bound never leaves a session without an origin.
 */

export interface LoadBoundInput {
  /** How many origins there are (indices 0 to count - 1). */
  count: number;
  /** An origin's load, in requests in flight (load-estimate.ts). */
  load(index: number): number;
  /** Its weight in force. */
  weight(index: number): number;
  /** Whether it takes new sessions (state, weight, health): the mean is theirs. */
  takesNew(index: number): boolean;
  /** `affinity.balanceFactor`, at least 1. */
  factor: number;
}

/** Whether each origin is within its bound for one more session. */
export function loadBound({ count, load, weight, takesNew, factor }: LoadBoundInput): (index: number) => boolean {
  let totalLoad = 0;
  let totalWeight = 0;
  for (let i = 0; i < count; i++) {
    if (!takesNew(i)) continue;
    totalLoad += load(i);
    totalWeight += weight(i);
  }
  if (totalWeight <= 0) return () => true;
  const perWeight = (factor * (totalLoad + 1)) / totalWeight;
  return (index) => load(index) < Math.max(1, perWeight * weight(index));
}
