import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadBound } from '../../worker/core/routing/bounded-load';

function within(loads: number[], factor: number, weights = loads.map(() => 1), takesNew = loads.map(() => true)) {
  const test = loadBound({
    count: loads.length,
    load: (i) => loads[i]!,
    weight: (i) => weights[i]!,
    takesNew: (i) => takesNew[i]!,
    factor,
  });
  return loads.map((_, i) => test(i));
}

describe('the load bound', () => {
  it('refuses an origin above factor × the mean, counting the session being placed (the "+1")', () => {
    // Total 30 + 1 over 3 origins, factor 1.25: capacity 12.92 each.
    expect(within([12, 5, 13], 1.25)).toEqual([true, true, false]);
    expect(within([12.9, 4.15, 12.95], 1.25)).toEqual([true, true, false]);
    // Without the "+1" the capacity would be 12.5, and 12.9 would be refused.
  });

  it('compares load per unit of weight', () => {
    // Total 20 + 1, weights 1 and 3, factor 1: capacities 5.25 and 15.75.
    expect(within([6, 14], 1, [1, 3])).toEqual([false, true]);
    expect(within([5, 15], 1, [1, 3])).toEqual([true, true]);
  });

  it('leaves an idle or lightly loaded fleet to the hash: no origin is refused below one request in flight', () => {
    expect(within([0, 0, 0], 1)).toEqual([true, true, true]);
    expect(within([0.9, 0.05, 0.05], 1)).toEqual([true, true, true]);
    expect(within([1, 0, 0], 1)).toEqual([false, true, true]);
  });

  it('takes the mean over the origins that take new sessions only', () => {
    // The third origin (draining or down) has load, but it is not in the mean: 10 + 1 over two, capacity 5.5.
    expect(within([8, 2, 100], 1, [1, 1, 1], [true, true, false])).toEqual([false, true, false]);
  });

  it('always leaves at least one origin that takes new sessions within its bound', () => {
    const origin = fc.record({
      load: fc.double({ min: 0, max: 1e4, noNaN: true }),
      weight: fc.double({ min: 0.01, max: 1000, noNaN: true }),
    });
    fc.assert(
      fc.property(
        fc.array(origin, { minLength: 1, maxLength: 30 }),
        fc.double({ min: 1, max: 3, noNaN: true }),
        (origins, factor) => {
          const ok = within(
            origins.map((o) => o.load),
            factor,
            origins.map((o) => o.weight),
          );
          expect(ok.some(Boolean)).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
