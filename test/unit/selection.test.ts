import { describe, expect, it } from 'vitest';
import { createSelector, type SelectionAlgorithm, type WeightedOrigin } from '../../worker/core/routing/selector';
import { sessionIds } from '../support/keys';
import { GOLDEN_RANKINGS, rankGoldenKeys } from '../support/golden-rankings';

const KEYS = sessionIds(100_000);
const everyone = () => true;

function origins(weights: number[]): WeightedOrigin[] {
  return weights.map((weight, i) => ({ id: `app-${i + 1}`, weight }));
}

/** Which origin id each key picks first. */
function assign(algorithm: SelectionAlgorithm, list: WeightedOrigin[], accept: (i: number) => boolean = everyone) {
  const selector = createSelector(algorithm, list);
  return KEYS.map((key) => {
    const [first] = selector.pick(key, accept, 1);
    return first === undefined ? undefined : list[first]!.id;
  });
}

function counts(ids: (string | undefined)[]): Map<string | undefined, number> {
  const tally = new Map<string | undefined, number>();
  for (const id of ids) tally.set(id, (tally.get(id) ?? 0) + 1);
  return tally;
}

describe.each(['rendezvous', 'ring'] as const)('%s selection', (algorithm) => {
  it('gives the same answer for the same inputs, whatever the order of calls', () => {
    const list = origins([1, 2, 3, 1, 1]);
    const first = assign(algorithm, list);
    const reversedKeys = [...KEYS].reverse();
    const selector = createSelector(algorithm, list);
    const again = reversedKeys.map((key) => list[selector.pick(key, everyone, 1)[0]!]!.id).reverse();
    expect(again).toEqual(first);
  });

  it('moves only the keys of an origin that is removed', () => {
    const list = origins([1, 1, 2, 1, 3, 1, 1, 2, 1, 1]);
    const before = assign(algorithm, list);
    const after = assign(
      algorithm,
      list.filter((o) => o.id !== 'app-3'),
    );
    const expected = before.map((id, i) => (id === 'app-3' ? after[i] : id));
    expect(after).toEqual(expected);
    expect(after).not.toContain('app-3');
  });

  it('treats an origin the caller refuses like a removed one', () => {
    const list = origins([1, 1, 1, 1]);
    const removed = assign(
      algorithm,
      list.filter((o) => o.id !== 'app-2'),
    );
    const refused = assign(algorithm, list, (i) => i !== 1);
    expect(refused).toEqual(removed);
  });

  it('never picks an origin of weight 0, nor one the caller refuses', () => {
    const list = origins([0, 1, 1, 0]);
    const selector = createSelector(algorithm, list);
    for (const key of KEYS.slice(0, 2000)) {
      const picked = selector.pick(key, (i) => i !== 2, 4);
      expect(picked).toEqual([1]);
    }
  });

  it('ranks keys the same way as every other isolate and every release (golden values)', () => {
    expect(rankGoldenKeys(algorithm)).toEqual(GOLDEN_RANKINGS[algorithm]);
  });

  it('lists distinct origins in preference order, as many as asked for', () => {
    const selector = createSelector(algorithm, origins([1, 1, 1, 1, 1]));
    for (const key of KEYS.slice(0, 2000)) {
      const order = selector.pick(key, everyone, 5);
      expect(new Set(order).size).toBe(5);
      expect(selector.pick(key, everyone, 2)).toEqual(order.slice(0, 2));
    }
  });
});

/**
 * Whether `observed` of `trials` keys is what independent picks with probability `p` give: within 4σ
 * of the binomial mean (σ = √(n·p·(1−p))), which a fair hash misses once in about 16,000 checks.
 */
function expectBinomial(observed: number, trials: number, p: number, label: string) {
  const sigma = Math.sqrt(trials * p * (1 - p));
  expect(Math.abs(observed - trials * p), `${label}: ${observed} of ${trials}, p = ${p}`).toBeLessThan(4 * sigma);
}

describe('rendezvous selection', () => {
  it('gives new sessions to origins in proportion to weight, within statistical tolerance', () => {
    const weights = [1, 2, 3, 4, 5, 1, 1, 2, 0.5, 10];
    const total = weights.reduce((a, b) => a + b, 0);
    const tally = counts(assign('rendezvous', origins(weights)));
    weights.forEach((weight, i) => {
      expectBinomial(tally.get(`app-${i + 1}`)!, KEYS.length, weight / total, `app-${i + 1}`);
    });
  });

  it('spreads a removed origin’s keys over all survivors in proportion to weight (within 4σ of each fair share)', () => {
    const weights = [1, 1, 2, 1, 1, 3, 1, 1, 2, 1];
    const list = origins(weights);
    const before = assign('rendezvous', list);
    const after = assign(
      'rendezvous',
      list.filter((o) => o.id !== 'app-1'),
    );
    const moved = counts(after.filter((_, i) => before[i] === 'app-1'));
    const movedTotal = [...moved.values()].reduce((a, b) => a + b, 0);
    const survivorsWeight = weights.slice(1).reduce((a, b) => a + b, 0);
    list.slice(1).forEach((origin) => {
      expectBinomial(moved.get(origin.id) ?? 0, movedTotal, origin.weight / survivorsWeight, origin.id);
    });
  });
});

describe('ring selection', () => {
  it('follows weights, with the drift of point placement (within 25%)', () => {
    const weights = [1, 2, 3, 4, 5, 1, 1, 2, 1, 10];
    const total = weights.reduce((a, b) => a + b, 0);
    const tally = counts(assign('ring', origins(weights)));
    weights.forEach((weight, i) => {
      const expected = (KEYS.length * weight) / total;
      expect(tally.get(`app-${i + 1}`)! / expected, `app-${i + 1}`).toBeGreaterThan(0.75);
      expect(tally.get(`app-${i + 1}`)! / expected, `app-${i + 1}`).toBeLessThan(1.25);
    });
  });
});
