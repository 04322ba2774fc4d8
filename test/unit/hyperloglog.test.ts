import { describe, expect, it } from 'vitest';
import {
  addToSketch,
  decodeSketch,
  emptySketch,
  encodeSketch,
  estimateDistinct,
  HLL_RELATIVE_ERROR,
  mergeSketch,
} from '../../worker/core/fleet/hyperloglog';
import { sessionIds } from '../support/keys';

function sketchOf(ids: readonly string[]) {
  const sketch = emptySketch();
  for (const id of ids) addToSketch(sketch, id);
  return sketch;
}

const relativeError = (estimate: number, truth: number) => Math.abs(estimate - truth) / truth;

describe('the distinct-session sketch (HyperLogLog, 1,024 registers)', () => {
  it('states a relative standard error of 1.04/√1024 = 3.25%', () => {
    expect(HLL_RELATIVE_ERROR).toBeCloseTo(0.0325, 4);
  });

  it('counts 10,000 sessions within its stated bound (3 standard errors, 9.75%), with a root mean square error of one', () => {
    expect(relativeError(estimateDistinct(sketchOf(sessionIds(10_000, 7))), 10_000)).toBeLessThan(
      3 * HLL_RELATIVE_ERROR,
    );
    const errors = Array.from({ length: 20 }, (_, seed) =>
      relativeError(estimateDistinct(sketchOf(sessionIds(10_000, 100 + seed))), 10_000),
    );
    // A standard error: the root mean square over many sets sits near it, no single set beyond 3 of it.
    const rms = Math.sqrt(errors.reduce((sum, e) => sum + e * e, 0) / errors.length);
    expect(rms).toBeLessThan(HLL_RELATIVE_ERROR * 1.25);
    expect(Math.max(...errors)).toBeLessThan(3 * HLL_RELATIVE_ERROR);
  });

  it('counts small numbers of sessions almost exactly (linear counting)', () => {
    for (const n of [0, 1, 10, 100]) {
      expect(Math.round(estimateDistinct(sketchOf(sessionIds(n, 3))))).toBeGreaterThanOrEqual(n - Math.ceil(n * 0.02));
      expect(Math.round(estimateDistinct(sketchOf(sessionIds(n, 3))))).toBeLessThanOrEqual(n + Math.ceil(n * 0.02));
    }
  });

  it('counts a session seen many times, or by several isolates, once: merged sketches count the union', () => {
    const ids = sessionIds(6_000, 11);
    const isolateA = sketchOf([...ids.slice(0, 4_000), ...ids.slice(0, 4_000)]);
    const isolateB = sketchOf(ids.slice(2_000)); // 2,000 sessions in common with A
    const merged = emptySketch();
    mergeSketch(merged, isolateA);
    mergeSketch(merged, isolateB);
    expect(relativeError(estimateDistinct(merged), 6_000)).toBeLessThan(HLL_RELATIVE_ERROR * 2);
    expect(estimateDistinct(isolateA) + estimateDistinct(isolateB)).toBeGreaterThan(7_500); // a sum would say ~8,000
  });

  it('travels as a short list while few registers are set, and as the registers otherwise, losing nothing', () => {
    for (const n of [3, 150, 5_000]) {
      const sketch = sketchOf(sessionIds(n, 5));
      const wire = encodeSketch(sketch);
      expect(Array.isArray(wire)).toBe(n < 200);
      expect(decodeSketch(structuredClone(wire))).toEqual(sketch);
    }
  });
});
