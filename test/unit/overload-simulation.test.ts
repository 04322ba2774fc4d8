import { describe, expect, it } from 'vitest';
import { CASCADE_SCENARIOS, seededRandom, zipfSampler } from '../../bench/overload/overload-scenario';
import { simulateOverload } from '../../bench/overload/overload-simulation';

const moderate = CASCADE_SCENARIOS['moderate skew'];

describe('the overload cascade, simulated', () => {
  const without = simulateOverload(moderate, seededRandom(1));
  const bounded = simulateOverload({ ...moderate, balanceFactor: 1.25 }, seededRandom(1));

  it('is the same run for the same seed', () => {
    expect(simulateOverload(moderate, seededRandom(1))).toEqual(without);
  });

  it('without a balance factor, the slowed origin takes its weight’s share again and again, and fails each time', () => {
    expect(without.failures).toBeGreaterThan(5);
    expect(without.moved).toBeGreaterThan(3 * without.unavoidableMoves);
    expect(without.slowedSharePerMinute.slice(1).every((share) => share > 0.04)).toBe(true);
  });

  it('with balanceFactor 1.25, only the slowed origin fails, once, and only its own sessions move', () => {
    expect(bounded.failedOrigins).toBe(1);
    expect(bounded.failures).toBe(1);
    expect(bounded.moved).toBeLessThanOrEqual(bounded.unavoidableMoves);
    expect(bounded.slowedSharePerMinute.slice(1).every((share) => share < 0.03)).toBe(true);
    expect(bounded.newSessionMaxOverMean).toBeLessThan(without.newSessionMaxOverMean);
    expect(bounded.loadMaxOverMean).toBeLessThan(without.loadMaxOverMean);
  });

  it('with heavy skew, cascades over several origins without the factor, and not with it', () => {
    const heavy = CASCADE_SCENARIOS['heavy skew'];
    expect(simulateOverload(heavy, seededRandom(2)).failedOrigins).toBeGreaterThan(2);
    expect(simulateOverload({ ...heavy, balanceFactor: 1.25 }, seededRandom(2)).failedOrigins).toBe(1);
  });

  it('draws tenants by Zipf’s law: the k-th most popular about 1/k^s as often as the first', () => {
    const draw = zipfSampler(100, 1, seededRandom(3));
    const counts = new Array<number>(100).fill(0);
    for (let i = 0; i < 200_000; i++) counts[draw()]!++;
    expect(counts[1]! / counts[0]!).toBeCloseTo(1 / 2, 1);
    expect(counts[9]! / counts[0]!).toBeCloseTo(1 / 10, 1);
  });
});
