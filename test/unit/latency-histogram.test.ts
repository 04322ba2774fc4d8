import { describe, expect, it } from 'vitest';
import {
  emptyHistogram,
  LATENCY_BOUNDS_MS,
  latencyQuantile,
  mergeHistogram,
  observeLatency,
} from '../../worker/core/fleet/latency-histogram';

describe('the response-time histogram', () => {
  it('counts each response in the first bucket whose upper bound it does not exceed, past the last in +Inf', () => {
    const histogram = emptyHistogram();
    for (const ms of [0, 1, 1.01, 10, 30_000, 30_001]) observeLatency(histogram, ms);
    expect(histogram).toHaveLength(LATENCY_BOUNDS_MS.length + 1);
    expect(histogram[0]).toBe(2); // 0 and 1 ms: le="0.001"
    expect(histogram[1]).toBe(1); // 1.01 ms: le="0.0025"
    expect(histogram[LATENCY_BOUNDS_MS.indexOf(10)]).toBe(1);
    expect(histogram[LATENCY_BOUNDS_MS.length - 1]).toBe(1);
    expect(histogram[LATENCY_BOUNDS_MS.length]).toBe(1);
  });

  it('answers quantiles interpolated inside their bucket, as histogram_quantile does', () => {
    const histogram = emptyHistogram();
    for (let i = 0; i < 90; i++) observeLatency(histogram, 20); // bucket (10, 25]
    for (let i = 0; i < 10; i++) observeLatency(histogram, 400); // bucket (250, 500]
    expect(latencyQuantile(histogram, 0.5)).toBeCloseTo(10 + (15 * 50) / 90, 6);
    expect(latencyQuantile(histogram, 0.95)).toBeCloseTo(250 + (250 * 5) / 10, 6);
    expect(latencyQuantile(emptyHistogram(), 0.5)).toBeNull();
  });

  it('merges by adding counts, so two isolates’ histograms make the fleet’s', () => {
    const a = emptyHistogram();
    const b = emptyHistogram();
    observeLatency(a, 3);
    observeLatency(b, 3);
    observeLatency(b, 700);
    mergeHistogram(a, b);
    expect(a.reduce((s, n) => s + n, 0)).toBe(3);
    expect(a[LATENCY_BOUNDS_MS.indexOf(5)]).toBe(2);
  });
});
