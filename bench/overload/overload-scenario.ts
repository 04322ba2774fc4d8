/**
 * What the overload simulation (overload-simulation.ts) is given and what it answers, the two
 * scenarios `npm run bench` reports, and the random draws it makes from a seeded source, so that a
 * run is the same every time. Pure.
 */

export interface OverloadScenario {
  origins: number;
  /** Requests per second one origin serves at full speed. */
  capacity: number;
  baseLatencyMs: number;
  sessionsPerSecond: number;
  /** Mean session lifetime (exponential). */
  sessionSeconds: number;
  requestsPerSessionSecond: number;
  /** Distinct session keys (`affinity.key: "header:x-tenant"`), their popularity Zipf-distributed with exponent `zipf`. */
  tenants: number;
  zipf: number;
  /** Isolates the sessions are spread over: each sees its own load at once, the fleet's late. */
  isolates: number;
  /** At `at` seconds, origin `origin` becomes `factor` times slower (capacity divided, latency multiplied). */
  slowdown: { origin: number; at: number; factor: number };
  seconds: number;
  probe: { interval: number; rise: number; fall: number };
  /** How often isolates hear the fleet's figures, and the window those average over (seconds). */
  fleet: { interval: number; window: number };
  balanceFactor?: number;
}

export interface OverloadOutcome {
  /** New sessions each origin took. */
  newSessions: number[];
  /** The busiest origin's new sessions over the mean (equal weights): 1 is perfectly even. */
  newSessionMaxOverMean: number;
  /** Max over mean of the healthy origins' load (requests in flight), averaged over the run: 1 is even. */
  loadMaxOverMean: number;
  /** Sessions that moved because their origin was called down. */
  moved: number;
  /** The sessions the slowed origin held when it slowed down: what has to move, once, at the least. */
  unavoidableMoves: number;
  /** Times an origin was called unhealthy, and how many distinct origins were. */
  failures: number;
  failedOrigins: number;
  /** Requests sent to an origin at or above its capacity (answered late, or not at all). */
  overloadedRequests: number;
  /** The slowed origin's share of new sessions in each minute after the slowdown (its weight's share: 1/origins). */
  slowedSharePerMinute: number[];
}

/**
 * Ten origins of 100 requests/s, about 3,000 sessions of 0.2 requests/s each (60% of the fleet's
 * capacity), keyed by 1,000 tenants of Zipf-distributed sizes, spread over ten isolates; at 5 minutes
 * one origin becomes ten times slower. Probes every 5 s, rise 2, fall 2; fleet figures every 10 s
 * over 20 s, as the worker has them. The moderate skew leaves every origin within its capacity until
 * the slowdown; the heavy one loads the biggest tenants' origins close to theirs.
 */
export const CASCADE_SCENARIOS: Record<'moderate skew' | 'heavy skew', OverloadScenario> = {
  'moderate skew': scenario(0.8),
  'heavy skew': scenario(0.9),
};

function scenario(zipf: number): OverloadScenario {
  return {
    origins: 10,
    capacity: 100,
    baseLatencyMs: 20,
    sessionsPerSecond: 25,
    sessionSeconds: 120,
    requestsPerSessionSecond: 0.2,
    tenants: 1000,
    zipf,
    isolates: 10,
    slowdown: { origin: 0, at: 300, factor: 10 },
    seconds: 900,
    probe: { interval: 5, rise: 2, fall: 2 },
    fleet: { interval: 10, window: 20 },
  };
}

/** A seeded source of uniform numbers in [0, 1) (mulberry32): the same seed, the same run. */
export function seededRandom(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Poisson-distributed count (Knuth's method: fine for the small means of one second). */
export function poisson(mean: number, random: () => number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = random(); p > limit; p *= random()) k++;
  return k;
}

/** An exponentially distributed duration of the given mean. */
export function exponential(mean: number, random: () => number): number {
  return -Math.log(1 - random()) * mean;
}

/** Draws 0..n-1 with probability ∝ 1/(k+1)^s. */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) cumulative[k] = total += 1 / (k + 1) ** s;
  return () => {
    const u = random() * total;
    let [lo, hi] = [0, n - 1];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
