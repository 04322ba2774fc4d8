/**
 * Property-based tests of origin selection, for both algorithms behind `createSelector`.
 *
 * The contract (selector.ts): `pick(key, accept, count)` gives the first `count` origins of `key`'s
 * preference order, best first, skipping those `accept` refuses and those of weight 0. Both
 * algorithms can keep it in full: rendezvous scores every origin, and the ring gives every origin of
 * positive weight at least one point and walks the whole ring if it must, so neither ever returns
 * fewer than min(count, eligible origins of positive weight).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSelector, type SelectionAlgorithm, type WeightedOrigin } from '../../worker/core/routing/selector';

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const MAX_ORIGINS = 50;
/** Generated cases per property: building a ring costs up to ~35 ms (200,000 points), rendezvous nothing. */
const RUNS = { rendezvous: 300, ring: 120 } as const;

const chars = (alphabet: string) => fc.constantFrom(...alphabet);
const weightArb = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.double({ min: 0, max: 5, noNaN: true }) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 10 }) },
  { weight: 1, arbitrary: fc.double({ min: 0, max: 1000, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(1000, 0.001, 1e-9, Number.MIN_VALUE) },
);
const originsArb: fc.Arbitrary<WeightedOrigin[]> = fc.uniqueArray(
  fc.record({ id: fc.string({ unit: chars(ID_CHARS), minLength: 1, maxLength: 64 }), weight: weightArb }),
  { selector: (origin) => origin.id, minLength: 1, maxLength: MAX_ORIGINS },
);
const keyArb = fc.oneof(
  fc.string({ unit: chars(B64URL), minLength: 16, maxLength: 16 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string(),
  fc.constantFrom('', '203.0.113.7', '2001:db8::1'),
);
/** Which origins a predicate accepts: all, none, or any subset. */
const acceptedArb = (n: number) =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(Array.from({ length: n }, () => true)) },
    { weight: 1, arbitrary: fc.constant(Array.from({ length: n }, () => false)) },
    { weight: 3, arbitrary: fc.array(fc.boolean(), { minLength: n, maxLength: n }) },
    {
      weight: 2,
      arbitrary: fc
        .array(fc.boolean(), { minLength: n, maxLength: n })
        .map((flags) => flags.map((f, i) => f || i % 2 === 0)),
    },
  );

interface Case {
  origins: WeightedOrigin[];
  key: string;
  /** What the looser predicate accepts. */
  looser: boolean[];
  /** A stricter predicate: accepts a subset of what the looser one does. */
  stricter: boolean[];
  count: number;
}

const caseArb: fc.Arbitrary<Case> = originsArb.chain((origins) => {
  const n = origins.length;
  return fc
    .record({
      origins: fc.constant(origins),
      key: keyArb,
      looser: acceptedArb(n),
      stricter: acceptedArb(n),
      count: fc.oneof(fc.integer({ min: 1, max: n }), fc.constant(n)),
    })
    .map((c) => ({ ...c, stricter: c.stricter.map((ok, i) => ok && c.looser[i]!) }));
});

/** A predicate over `flags` that checks every index it is asked about is one of the origins. */
function predicate(flags: readonly boolean[]): (index: number) => boolean {
  return (index) => {
    expect(Number.isInteger(index) && index >= 0 && index < flags.length, `asked about index ${index}`).toBe(true);
    return flags[index]!;
  };
}

const eligible = (c: Case, flags: readonly boolean[]) => c.origins.filter((o, i) => flags[i] && o.weight > 0).length;

describe.each(['rendezvous', 'ring'] as const)(
  '%s selection, for any origins, key and predicate',
  (algorithm: SelectionAlgorithm) => {
    it('is deterministic: the same answer twice, after other keys, and from a freshly built selector', () => {
      fc.assert(
        fc.property(caseArb, keyArb, (c, otherKey) => {
          const selector = createSelector(algorithm, c.origins);
          const first = selector.pick(c.key, predicate(c.looser), c.count);
          expect(selector.pick(c.key, predicate(c.looser), c.count)).toEqual(first);
          selector.pick(otherKey, () => true, c.origins.length); // scratch buffers are reused between calls
          expect(selector.pick(c.key, predicate(c.looser), c.count)).toEqual(first);
          const fresh = createSelector(
            algorithm,
            c.origins.map((o) => ({ ...o })),
          );
          expect(fresh.pick(c.key, predicate(c.looser), c.count)).toEqual(first);
        }),
        { numRuns: RUNS[algorithm] },
      );
    });

    it('returns min(count, eligible origins of positive weight) distinct origins, none refused and none of weight 0', () => {
      fc.assert(
        fc.property(caseArb, (c) => {
          const picked = createSelector(algorithm, c.origins).pick(c.key, predicate(c.looser), c.count);
          expect(new Set(picked).size).toBe(picked.length);
          for (const index of picked) {
            expect(Number.isInteger(index) && index >= 0 && index < c.origins.length).toBe(true);
            expect(c.looser[index], `picked refused origin ${index}`).toBe(true);
            expect(c.origins[index]!.weight, `picked origin ${index}`).toBeGreaterThan(0);
          }
          expect(picked).toHaveLength(Math.min(c.count, eligible(c, c.looser)));
        }),
        { numRuns: RUNS[algorithm] },
      );
    });

    it('lists one preference order: fewer asked for is a prefix, a stricter predicate filters it', () => {
      fc.assert(
        fc.property(caseArb, (c) => {
          const selector = createSelector(algorithm, c.origins);
          const n = c.origins.length;
          const order = selector.pick(c.key, predicate(c.looser), n);
          expect(selector.pick(c.key, predicate(c.looser), c.count)).toEqual(order.slice(0, c.count));

          const stricterOrder = selector.pick(c.key, predicate(c.stricter), n);
          expect(stricterOrder).toEqual(order.filter((i) => c.stricter[i]));
          // In particular, the first pick under the stricter predicate is the first of the looser order it accepts.
          expect(selector.pick(c.key, predicate(c.stricter), 1)).toEqual(
            order.filter((i) => c.stricter[i]).slice(0, 1),
          );
        }),
        { numRuns: RUNS[algorithm] },
      );
    });
  },
);

describe('ring selection, scaled down past 200,000 points', () => {
  it('keeps every origin of positive weight on the ring, however small its weight next to the others', () => {
    const heavyArb = fc.uniqueArray(
      fc.record({
        id: fc.string({ unit: chars(ID_CHARS), minLength: 1, maxLength: 64 }),
        weight: fc.oneof(
          { weight: 4, arbitrary: fc.integer({ min: 500, max: 1000 }) },
          { weight: 1, arbitrary: fc.constantFrom(0, 0.001, Number.MIN_VALUE, 0.5) },
        ),
      }),
      { selector: (origin) => origin.id, minLength: 5, maxLength: MAX_ORIGINS },
    );
    fc.assert(
      fc.property(heavyArb, keyArb, (origins, key) => {
        const picked = createSelector('ring', origins).pick(key, () => true, origins.length);
        const positive = origins.flatMap((o, i) => (o.weight > 0 ? [i] : []));
        expect([...picked].sort((a, b) => a - b)).toEqual(positive);
      }),
      { numRuns: 12 },
    );
  });
});
