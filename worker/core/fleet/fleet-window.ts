/**
 * The fleet aggregator's memory: every isolate's reports merged into recent time buckets, plus totals
 * since counting began. Pure: a batch and `now` in, the merged state and views out.
 *
 * - Counts go into 10 s buckets, kept 15 minutes (the status page's chart, rates, latency quantiles).
 * - Session sketches go into 30 s buckets, kept 5½ minutes: "active sessions" merges the sketches of
 *   the buckets that started in the last 5 minutes, so it counts each session once fleet-wide and
 *   covers between 5 and 5½ minutes.
 * - Totals never reset while the object lives (Prometheus counters); they and `lastRequestAt` are
 *   what the aggregator stores. Those of an origin gone from the configuration are dropped after a
 *   retention period (fleet-retention.ts).
 * A batch counts in the buckets of its arrival: isolates report every 10 s, so a request lands in a
 * bucket at most one flush interval after it happened, and no isolate's clock is trusted.
 *
 * The buckets are stored with the totals (`storedBuckets`, `restoreFleetWindow`): an object evicted
 * after a quiet minute, or restarted by a deploy, keeps its recent figures and the time it has been
 * watching since, so active sessions do not drop to 0 while sessions that made requests in the last 5
 * minutes are live.
 */
import {
  decodeSketch,
  emptySketch,
  encodeSketch,
  estimateDistinct,
  mergeSketch,
  type HllRegisters,
  type HllWire,
} from './hyperloglog';
import { addEach, emptyCounts, mergeCounts, type OriginCounts, type TrafficBatch } from './traffic-counts';

export const COUNT_BUCKET_MS = 10_000;
export const CHART_WINDOW_MS = 15 * 60_000;
export const SKETCH_BUCKET_MS = 30_000;
export const ACTIVE_SESSION_WINDOW_MS = 5 * 60_000;

export interface CountBucket {
  start: number;
  origins: Record<string, OriginCounts>;
}

/** What outlives the aggregator's memory (monitor-storage.ts stores it). */
export interface FleetTotals {
  /** When these totals started (the first report ever merged). */
  since: number;
  origins: Record<string, OriginCounts>;
  unserved: Record<string, number>;
  /** Since when each counted origin has been missing from the configuration (fleet-retention.ts). */
  removedSince?: Record<string, number>;
}

export interface FleetWindow {
  /** When this memory started watching: a question about the time before cannot be answered from it. */
  watchingSince: number;
  counts: CountBucket[];
  sketches: { start: number; origins: Map<string, HllRegisters> }[];
  totals: FleetTotals;
}

/** What the admin API reads: the last 15 minutes, active sessions now, and the totals. */
export interface FleetView {
  /**
   * The aggregator's clock when it built this view. Every age in the view (rates, last requests, and
   * `drained` judged from them) is measured from it, never from the reader's clock, so an isolate whose
   * clock differs cannot shorten a drain.
   */
  takenAt: number;
  /** Since when the aggregator has counted: nothing before it is known (it restarted, or is new). */
  watchingSince: number;
  bucketMs: number;
  /** Oldest first; buckets without reports are absent. */
  buckets: CountBucket[];
  activeSessions: Record<string, number>;
  /** Distinct sessions over every origin (a session that moved counts once). */
  activeSessionsTotal: number;
  totals: FleetTotals;
}

export function newFleetWindow(now: number, totals?: FleetTotals): FleetWindow {
  return { watchingSince: now, counts: [], sketches: [], totals: totals ?? { since: now, origins: {}, unserved: {} } };
}

/** A bucket as storage keeps it: counts as they are, sketches in their wire form. */
export type StoredBucket =
  | { kind: 'counts'; start: number; origins: Record<string, OriginCounts> }
  | { kind: 'sketches'; start: number; origins: Record<string, HllWire> };

/** A stored bucket's name: one storage key per bucket, so a write carries only the buckets that changed. */
export function bucketName(bucket: Pick<StoredBucket, 'kind' | 'start'>): string {
  return `${bucket.kind}:${bucket.start}`;
}

/** The window's buckets that end after `since` (those a batch merged since then changed), as storage keeps them. */
export function bucketsChangedSince(window: FleetWindow, since: number): StoredBucket[] {
  const stored: StoredBucket[] = [];
  for (const counts of window.counts) {
    if (counts.start + COUNT_BUCKET_MS > since)
      stored.push({ kind: 'counts', start: counts.start, origins: structuredClone(counts.origins) });
  }
  for (const sketches of window.sketches) {
    if (sketches.start + SKETCH_BUCKET_MS <= since) continue;
    const origins = Object.fromEntries([...sketches.origins].map(([id, sketch]) => [id, encodeSketch(sketch)]));
    stored.push({ kind: 'sketches', start: sketches.start, origins });
  }
  return stored;
}

/** Whether a stored bucket is still inside the window at `now` (pruneWindow's rule). */
export function isCurrent(bucket: Pick<StoredBucket, 'kind' | 'start'>, now: number): boolean {
  return bucket.kind === 'counts'
    ? bucket.start > now - CHART_WINDOW_MS
    : bucket.start > now - ACTIVE_SESSION_WINDOW_MS - SKETCH_BUCKET_MS;
}

/**
 * The window as storage left it: the totals, the buckets still inside the window at `now`, and the
 * time it has watched since (`now` when nothing was stored: a question about earlier is not answered).
 */
export function restoreFleetWindow(
  now: number,
  stored: { totals?: FleetTotals; watchingSince?: number; buckets: readonly StoredBucket[] },
): FleetWindow {
  const window = newFleetWindow(stored.watchingSince ?? now, stored.totals);
  const current = [...stored.buckets].filter((b) => isCurrent(b, now)).sort((a, b) => a.start - b.start);
  for (const bucket of current) {
    if (bucket.kind === 'counts') window.counts.push({ start: bucket.start, origins: bucket.origins });
    else {
      const origins = new Map(Object.entries(bucket.origins).map(([id, wire]) => [id, decodeSketch(wire)]));
      window.sketches.push({ start: bucket.start, origins });
    }
  }
  return window;
}

export function mergeBatch(window: FleetWindow, batch: TrafficBatch, now: number): void {
  pruneWindow(window, now);
  const counts = bucketAt(window.counts, now, COUNT_BUCKET_MS, () => ({ origins: {} }));
  for (const [id, from] of Object.entries(batch.origins)) {
    mergeCounts((counts.origins[id] ??= emptyCounts()), from);
    mergeCounts((window.totals.origins[id] ??= emptyCounts()), from);
  }
  addEach(window.totals.unserved, batch.unserved);
  const sketches = bucketAt(window.sketches, now, SKETCH_BUCKET_MS, () => ({ origins: new Map() }));
  for (const [id, wire] of Object.entries(batch.sessions)) {
    const into = sketches.origins.get(id);
    if (into) mergeSketch(into, decodeSketch(wire));
    else sketches.origins.set(id, decodeSketch(wire));
  }
}

/** Drops buckets past their window. */
export function pruneWindow(window: FleetWindow, now: number): void {
  window.counts = window.counts.filter((b) => isCurrent({ kind: 'counts', start: b.start }, now));
  window.sketches = window.sketches.filter((b) => isCurrent({ kind: 'sketches', start: b.start }, now));
}

/** Distinct sessions per origin, and over all, in the sketch buckets that started in the last 5 minutes. */
export function activeSessions(window: FleetWindow, now: number): { perOrigin: Record<string, number>; total: number } {
  const recent = window.sketches.filter((b) => b.start > now - ACTIVE_SESSION_WINDOW_MS - SKETCH_BUCKET_MS);
  const merged = new Map<string, HllRegisters>();
  for (const bucket of recent) {
    for (const [id, sketch] of bucket.origins) {
      const into = merged.get(id);
      if (into) mergeSketch(into, sketch);
      else merged.set(id, sketch.slice());
    }
  }
  const all = emptySketch();
  const perOrigin: Record<string, number> = {};
  for (const [id, sketch] of merged) {
    perOrigin[id] = Math.round(estimateDistinct(sketch));
    mergeSketch(all, sketch);
  }
  return { perOrigin, total: Math.round(estimateDistinct(all)) };
}

export function fleetView(window: FleetWindow, now: number): FleetView {
  pruneWindow(window, now);
  const active = activeSessions(window, now);
  return {
    takenAt: now,
    watchingSince: window.watchingSince,
    bucketMs: COUNT_BUCKET_MS,
    buckets: window.counts,
    activeSessions: active.perOrigin,
    activeSessionsTotal: active.total,
    totals: window.totals,
  };
}

/** The bucket of `width` that holds `now`, appended when it does not exist yet (buckets stay in order). */
function bucketAt<B extends { start: number }>(
  buckets: B[],
  now: number,
  width: number,
  make: () => Omit<B, 'start'>,
): B {
  const start = Math.floor(now / width) * width;
  const last = buckets[buckets.length - 1];
  if (last && last.start === start) return last;
  const bucket = { start, ...make() } as B;
  buckets.push(bucket);
  return bucket;
}
