/**
 * How well each algorithm spreads sessions, measured rather than claimed: equal weights, keys like
 * real session ids, and the same measurements for a perfectly random assignment as the yardstick
 * (what sampling noise alone gives with this many keys).
 */
import { createSelector, type SelectionAlgorithm } from '../worker/core/routing/selector';
import { sessionIds } from '../test/support/keys';

export interface QualityRow {
  algorithm: SelectionAlgorithm | 'random (yardstick)';
  origins: number;
  keys: number;
  /** Busiest origin's keys over the mean: 1 is perfect. */
  maxOverMean: number;
  /** Keys that changed origin when one origin left, as a fraction of all keys (ideal: its own share). */
  movedFraction: number;
  /** The departing origin's own share before it left. */
  departedShare: number;
  /** The largest fraction of the departing origin's keys that a single survivor took (ideal 1/(n-1)). */
  largestSurvivorShare: number;
}

const KEYS_PER_CASE: Record<number, number> = { 10: 100_000, 100: 200_000, 1000: 300_000 };

export function runQuality(): QualityRow[] {
  const rows: QualityRow[] = [];
  for (const n of [10, 100, 1000]) {
    const keys = sessionIds(KEYS_PER_CASE[n]!, n);
    for (const algorithm of ['rendezvous', 'ring'] as const) rows.push(measure(algorithm, n, keys));
    rows.push(yardstick(n, keys.length));
  }
  return rows;
}

function measure(algorithm: SelectionAlgorithm, n: number, keys: string[]): QualityRow {
  const all = Array.from({ length: n }, (_, i) => ({ id: `app-${i + 1}`, weight: 1 }));
  const before = assign(createSelector(algorithm, all), keys);
  // Remove an origin, rebuild from scratch, compare: nothing here assumes the algorithm's promises.
  const survivors = all.slice(1);
  const after = assign(createSelector(algorithm, survivors), keys).map((i) => i + 1);
  return summarize(algorithm, n, keys.length, before, after);
}

/** A uniformly random assignment, and a random reassignment of the departed origin's keys. */
function yardstick(n: number, keyCount: number): QualityRow {
  const before = Array.from({ length: keyCount }, () => Math.floor(Math.random() * n));
  const after = before.map((i) => (i === 0 ? 1 + Math.floor(Math.random() * (n - 1)) : i));
  return summarize('random (yardstick)', n, keyCount, before, after);
}

function assign(selector: ReturnType<typeof createSelector>, keys: string[]): number[] {
  return keys.map((key) => selector.pick(key, () => true, 1)[0]!);
}

function summarize(
  algorithm: QualityRow['algorithm'],
  n: number,
  keyCount: number,
  before: number[],
  after: number[],
): QualityRow {
  const load = new Array<number>(n).fill(0);
  for (const i of before) load[i]!++;
  const received = new Array<number>(n).fill(0);
  let moved = 0;
  let departedMoved = 0;
  before.forEach((origin, k) => {
    if (after[k] === origin) return;
    moved++;
    if (origin === 0) {
      departedMoved++;
      received[after[k]!]!++;
    }
  });
  return {
    algorithm,
    origins: n,
    keys: keyCount,
    maxOverMean: Math.max(...load) / (keyCount / n),
    movedFraction: moved / keyCount,
    departedShare: load[0]! / keyCount,
    largestSurvivorShare: Math.max(...received) / Math.max(1, departedMoved),
  };
}
