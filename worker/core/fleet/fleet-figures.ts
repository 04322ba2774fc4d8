/**
 * The figures an operator reads, derived from the fleet aggregator's view: per origin requests per
 * second, error rate, latency quantiles, active sessions, moves, the share of new sessions it took,
 * a 15-minute series for the chart, and the fleet's load for placement. Pure.
 *
 * Rates are taken over the last minute (the current 10 s bucket and the five before it); the chart
 * shows complete buckets only: a bucket is complete once its 10 s are over, because reports count in
 * the bucket of their arrival.
 */
import { CHART_WINDOW_MS, COUNT_BUCKET_MS, type FleetView } from './fleet-window';
import { latencyQuantile } from './latency-histogram';
import { emptyCounts, mergeCounts, type OriginCounts } from './traffic-counts';

/** The window of the rates. */
export const RATE_WINDOW_MS = 60_000;

/** The figures of the rate window, without the chart's series (one origin's endpoint shows these). */
export type LiveFigures = Omit<OriginFigures, 'series' | 'errorSeries'>;

export interface OriginFigures {
  requestsPerSecond: number;
  /** Failed attempts and 5xx answers over attempts (requests answered + failed attempts); null with none. */
  errorRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  /** Distinct sessions that made a request to it in the last 5 minutes, fleet-wide. */
  activeSessions: number;
  /** Sessions that moved to it in the rate window. */
  moves: number;
  /** Fraction (0..1) of the new sessions of the rate window that it took; null when there were none. */
  newSessionShare: number | null;
  /** ISO time of the last request it answered, anywhere; null when none is known. */
  lastRequestAt: string | null;
  /** Requests per second of each 10 s bucket of the last 15 minutes, oldest first (complete buckets only). */
  series: number[];
  /** Failed attempts and 5xx answers per second, same buckets. */
  errorSeries: number[];
}

/**
 * Counts per origin over the current bucket and the ones before it that start within `span`, and the
 * seconds they cover (from the window's start, or from when the aggregator started watching, to now;
 * at least one bucket's width). Reports arrive steadily in the buckets of their arrival, so a partial
 * current bucket holds a proportional share and the rate stays unbiased.
 */
function countsOver(view: FleetView, span: number): { counts: Map<string, OriginCounts>; seconds: number } {
  const current = Math.floor(view.takenAt / COUNT_BUCKET_MS) * COUNT_BUCKET_MS;
  const from = current - span + COUNT_BUCKET_MS;
  const counts = new Map<string, OriginCounts>();
  for (const bucket of view.buckets) {
    if (bucket.start < from) continue;
    for (const [id, c] of Object.entries(bucket.origins)) {
      const into = counts.get(id) ?? emptyCounts();
      mergeCounts(into, c);
      counts.set(id, into);
    }
  }
  const covered = view.takenAt - Math.max(from, view.watchingSince);
  return { counts, seconds: Math.max(covered, COUNT_BUCKET_MS) / 1000 };
}

const failuresOf = (c: OriginCounts) => Object.values(c.failures).reduce((sum, n) => sum + n, 0);
const errorsOf = (c: OriginCounts) => failuresOf(c) + (c.responses['5xx'] ?? 0);
const attemptsOf = (c: OriginCounts) => c.requests + failuresOf(c);
const movesOf = (c: OriginCounts) => Object.values(c.moved).reduce((sum, n) => sum + n, 0);

export function originFigures(view: FleetView, ids: readonly string[]): Record<string, OriginFigures> {
  const { counts, seconds } = countsOver(view, RATE_WINDOW_MS);
  const newTotal = [...counts.values()].reduce((sum, c) => sum + c.newSessions, 0);
  const series = seriesOf(view);
  return Object.fromEntries(
    ids.map((id) => {
      const c = counts.get(id) ?? emptyCounts();
      const attempts = attemptsOf(c);
      const last = view.totals.origins[id]?.lastRequestAt ?? 0;
      const figures: OriginFigures = {
        requestsPerSecond: c.requests / seconds,
        errorRate: attempts > 0 ? errorsOf(c) / attempts : null,
        p50Ms: latencyQuantile(c.latency, 0.5),
        p95Ms: latencyQuantile(c.latency, 0.95),
        activeSessions: view.activeSessions[id] ?? 0,
        moves: movesOf(c),
        newSessionShare: newTotal > 0 ? c.newSessions / newTotal : null,
        lastRequestAt: last > 0 ? new Date(last).toISOString() : null,
        series: series.map((bucket) => (bucket.get(id)?.requests ?? 0) / (COUNT_BUCKET_MS / 1000)),
        errorSeries: series.map((bucket) => errorsOf(bucket.get(id) ?? emptyCounts()) / (COUNT_BUCKET_MS / 1000)),
      };
      return [id, figures];
    }),
  );
}

/** The complete buckets of the chart window, one map per bucket (empty where nothing was reported). */
function seriesOf(view: FleetView): Map<string, OriginCounts>[] {
  const current = Math.floor(view.takenAt / COUNT_BUCKET_MS) * COUNT_BUCKET_MS;
  const slots = CHART_WINDOW_MS / COUNT_BUCKET_MS;
  const byStart = new Map(view.buckets.map((b) => [b.start, b.origins]));
  return Array.from({ length: slots }, (_, i) => {
    const origins = byStart.get(current - (slots - i) * COUNT_BUCKET_MS) ?? {};
    return new Map(Object.entries(origins));
  });
}

/** The window of the concurrency that placement by load reads: short enough to follow a slowdown. */
export const LOAD_WINDOW_MS = 20_000;

/**
 * The fleet's recent load per origin, small enough to travel back on every report's answer: what an
 * isolate needs to place new sessions by load without a call of its own. `concurrency` is the mean
 * number of requests in flight over the last LOAD_WINDOW_MS (Little's law: the time the origin took
 * to answer them, summed, over the window's length), which is what load-aware placement compares;
 * requests per second and active sessions are over the rate window, for the record.
 */
export interface FleetLoad {
  takenAt: number;
  origins: Record<string, { requestsPerSecond: number; activeSessions: number; concurrency: number }>;
}

export function fleetLoad(view: FleetView): FleetLoad {
  const { counts, seconds } = countsOver(view, RATE_WINDOW_MS);
  const recent = countsOver(view, LOAD_WINDOW_MS);
  const ids = new Set([...counts.keys(), ...Object.keys(view.activeSessions)]);
  return {
    takenAt: view.takenAt,
    origins: Object.fromEntries(
      [...ids].map((id) => [
        id,
        {
          requestsPerSecond: (counts.get(id)?.requests ?? 0) / seconds,
          activeSessions: view.activeSessions[id] ?? 0,
          concurrency: (recent.counts.get(id)?.latencySumMs ?? 0) / (recent.seconds * 1000),
        },
      ]),
    ),
  };
}

export function withoutSeries({ series: _series, errorSeries: _errors, ...figures }: OriginFigures): LiveFigures {
  return figures;
}
