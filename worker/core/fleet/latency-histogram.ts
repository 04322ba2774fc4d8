/**
 * Response-header latency as a fixed-bucket histogram: the same bucket bounds in every isolate, so
 * histograms merge by adding counts, and Prometheus' `histogram_quantile` reads them as they are.
 */

/** Upper bounds of the buckets, in ms; one more bucket (+Inf) follows the last. */
export const LATENCY_BOUNDS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000] as const;

/** Counts per bucket (not cumulative), `LATENCY_BOUNDS_MS.length + 1` of them. */
export type LatencyHistogram = number[];

export function emptyHistogram(): LatencyHistogram {
  return new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
}

/** Counts one response that took `ms`, in the first bucket whose bound it does not exceed. */
export function observeLatency(histogram: LatencyHistogram, ms: number): void {
  let bucket = 0;
  while (bucket < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[bucket]!) bucket++;
  histogram[bucket]! += 1;
}

export function mergeHistogram(into: LatencyHistogram, from: readonly number[]): void {
  for (let i = 0; i < into.length; i++) into[i]! += from[i] ?? 0;
}

/**
 * The `q` quantile (0..1) in ms, interpolated linearly inside its bucket as `histogram_quantile`
 * does; null without observations. A quantile in the +Inf bucket is reported as the last bound.
 */
export function latencyQuantile(histogram: readonly number[], q: number): number | null {
  const total = histogram.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let bucket = 0; bucket < histogram.length; bucket++) {
    const count = histogram[bucket]!;
    if (below + count >= rank && count > 0) {
      if (bucket === LATENCY_BOUNDS_MS.length) return LATENCY_BOUNDS_MS[bucket - 1]!;
      const lower = bucket === 0 ? 0 : LATENCY_BOUNDS_MS[bucket - 1]!;
      const upper = LATENCY_BOUNDS_MS[bucket]!;
      return lower + ((upper - lower) * (rank - below)) / count;
    }
    below += count;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}
