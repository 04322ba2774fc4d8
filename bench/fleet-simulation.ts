/**
 * Both directions between isolates and the health monitor's objects at 1,000 isolates, simulated
 * against the real objects in workerd (bench/workers/fleet-sim-entry.js): every isolate sends a
 * traffic report every 10 s (100/s to the fleet aggregator) and reads the health snapshot every 5 s
 * (200/s from the coordinator), at exactly those rates, spread evenly, for the run's length. Then the
 * aggregator's view is checked against what was sent (every request counted; 30,000 distinct sessions
 * estimated within the sketch's bound), and each object's capacity here is probed with 64 calls in
 * flight at all times: a lower bound of what one object takes, since the load generator, the HTTP hop
 * into workerd and the object share the machine's two cores.
 */
import { copyFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PERSIST_INTERVAL_MS } from '../worker/monitor/fleet-protocol';
import { BUNDLE_DIR, startEdgeAffinity } from './http-load';

const REPORT_INTERVAL_S = 10;
const SNAPSHOT_INTERVAL_S = 5;
const REQUESTS_PER_REPORT = 50; // fleet-sim-entry.js: 10 origins × 5
const SESSIONS_PER_ISOLATE = 30; // 10 origins × 3
const MAX_IN_FLIGHT = 512;

export interface CallStats {
  calls: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
}

export interface FleetSimulation {
  isolates: number;
  seconds: number;
  reports: CallStats;
  snapshots: CallStats;
  /** What the aggregator counted against what the simulated isolates sent. */
  countedRequests: number;
  sentRequests: number;
  estimatedSessions: number;
  distinctSessions: number;
  /** Calls per second one object answered here with 64 in flight. */
  reportCapacity: number;
  snapshotCapacity: number;
}

export function prepareSimulationEntry(): void {
  copyFileSync(resolve(import.meta.dirname, 'workers/fleet-sim-entry.js'), resolve(BUNDLE_DIR, 'fleet-sim-entry.js'));
}

/** Calls `url(i)` for each due call of an open-loop schedule; returns every call's latency (NaN: failed). */
export async function openLoop(schedule: { at: number; url: string }[], startedAt: number): Promise<number[]> {
  const latencies: number[] = [];
  const pending = new Set<Promise<void>>();
  let next = 0;
  while (next < schedule.length || pending.size > 0) {
    const now = performance.now() - startedAt;
    while (next < schedule.length && schedule[next]!.at <= now && pending.size < MAX_IN_FLIGHT) {
      const { url } = schedule[next++]!;
      const begun = performance.now();
      const call = fetch(url)
        .then(async (response) => {
          await response.arrayBuffer();
          latencies.push(response.status === 204 ? performance.now() - begun : Number.NaN);
        })
        .catch(() => void latencies.push(Number.NaN))
        .finally(() => pending.delete(call));
      pending.add(call);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return latencies;
}

export function stats(latencies: number[], seconds: number): CallStats {
  const ok = latencies.filter(Number.isFinite).sort((a, b) => a - b);
  const at = (p: number) => ok[Math.min(ok.length - 1, Math.floor(p * ok.length))] ?? Number.NaN;
  return {
    calls: latencies.length,
    perSecond: ok.length / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    failed: latencies.length - ok.length,
  };
}

/** Calls per second with `inFlight` calls outstanding at all times, for `seconds`. */
export async function capacity(url: (i: number) => string, seconds: number, inFlight = 64): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  let i = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < until) {
        const response = await fetch(url(i++));
        await response.arrayBuffer();
        if (response.status === 204) done++;
      }
    }),
  );
  return done / seconds;
}

/** The simulation's worker (fleet-sim-entry.js) under Miniflare, and how to read what it counted. */
export interface SimulationWorker {
  /** Its URL, without a trailing slash. */
  base: string;
  /** The aggregator's totals as stored: waits out one persist interval first, so that all are. */
  storedView(): Promise<{ requests: number; activeSessions: number }>;
}

/** Runs `use` against the simulation's worker in front of ten origins at `originUrl`, then disposes of it. */
export async function withSimulationWorker<T>(
  originUrl: string,
  use: (sim: SimulationWorker) => Promise<T>,
): Promise<T> {
  const mf = await startEdgeAffinity([], {
    entry: 'fleet-sim-entry.js',
    origins: Array.from({ length: 10 }, (_, i) => ({ id: `app-${i + 1}`, url: originUrl })),
  });
  try {
    const base = (await mf.ready).href.replace(/\/$/, '');
    await (await fetch(`${base}/`)).arrayBuffer(); // the coordinator gets its plan, as with real traffic
    const storedView = async () => {
      await new Promise((resolve) => setTimeout(resolve, PERSIST_INTERVAL_MS + 1_000));
      return (await (await fetch(`${base}/__sim/view`)).json()) as { requests: number; activeSessions: number };
    };
    return await use({ base, storedView });
  } finally {
    await mf.dispose();
  }
}

export async function runFleetSimulation(originUrl: string, isolates = 1000, seconds = 20): Promise<FleetSimulation> {
  return withSimulationWorker(originUrl, async ({ base, storedView }) => {
    const countedBefore = (await storedView()).requests;
    const schedule: { at: number; url: string; kind: 'report' | 'snapshot' }[] = [];
    for (let i = 0; i < isolates; i++) {
      const offset = (i / isolates) * REPORT_INTERVAL_S * 1000;
      for (let t = offset; t < seconds * 1000; t += REPORT_INTERVAL_S * 1000) {
        schedule.push({ at: t, url: `${base}/__sim/report?isolate=${i}`, kind: 'report' });
      }
      for (let t = offset / 2; t < seconds * 1000; t += SNAPSHOT_INTERVAL_S * 1000) {
        schedule.push({ at: t, url: `${base}/__sim/snapshot?isolate=${i}`, kind: 'snapshot' });
      }
    }
    schedule.sort((a, b) => a.at - b.at);
    const reports = schedule.filter((c) => c.kind === 'report');
    const snapshots = schedule.filter((c) => c.kind === 'snapshot');
    const startedAt = performance.now();
    const [reportLatencies, snapshotLatencies] = await Promise.all([
      openLoop(reports, startedAt),
      openLoop(snapshots, startedAt),
    ]);
    const view = await storedView();
    const sentRequests = reportLatencies.filter(Number.isFinite).length * REQUESTS_PER_REPORT;
    const reportCapacity = await capacity((i) => `${base}/__sim/report?isolate=${i % isolates}`, 5);
    const snapshotCapacity = await capacity(() => `${base}/__sim/snapshot`, 5);
    return {
      isolates,
      seconds,
      reports: stats(reportLatencies, seconds),
      snapshots: stats(snapshotLatencies, seconds),
      countedRequests: view.requests - countedBefore,
      sentRequests,
      estimatedSessions: view.activeSessions,
      distinctSessions: isolates * SESSIONS_PER_ISOLATE,
      reportCapacity,
      snapshotCapacity,
    };
  });
}
