import { describe, expect, it } from 'vitest';
import { isDrained } from '../../worker/core/health/drain-rule';
import { originFleetFacts } from '../../worker/core/fleet/fleet-answers';
import { fleetLoad, originFigures } from '../../worker/core/fleet/fleet-figures';
import { COUNT_BUCKET_MS, fleetView, mergeBatch, newFleetWindow } from '../../worker/core/fleet/fleet-window';
import { TrafficTally, type CountedRequest } from '../../worker/core/fleet/traffic-counts';
import { sessionIds } from '../support/keys';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0); // on a bucket boundary
const served = (origin: string, over: Partial<CountedRequest> = {}): CountedRequest => ({
  origin,
  decision: 'pinned',
  status: 200,
  durationMs: 20,
  failures: [],
  ...over,
});

describe('counting in an isolate', () => {
  it('counts requests, new sessions, moves by reason, failures at the origin that failed, status classes and latency', () => {
    const tally = new TrafficTally();
    tally.count(served('a', { decision: 'new' }), 's1', T0);
    tally.count(
      served('b', {
        decision: 'repinned',
        reason: 'connect-failed',
        failures: [{ originId: 'a', reason: 'connect-failed' }],
        status: 503,
        durationMs: 400,
      }),
      's2',
      T0 + 5,
    );
    tally.count({ ...served('a'), origin: null, status: 408, clientFailure: 'body-timeout' }, 's3', T0 + 6);
    tally.count(
      { ...served('a'), origin: null, status: 502, failures: [{ originId: 'c', reason: 'timeout' }] },
      's4',
      T0,
    );
    const batch = tally.drain();
    expect(batch.origins.a).toMatchObject({
      requests: 1,
      newSessions: 1,
      failures: { 'connect-failed': 1 },
      lastRequestAt: T0,
    });
    expect(batch.origins.b).toMatchObject({
      requests: 1,
      newSessions: 0,
      moved: { 'connect-failed': 1 },
      responses: { '5xx': 1 },
      latencySumMs: 400,
      lastRequestAt: T0 + 5,
    });
    expect(batch.origins.c).toMatchObject({ requests: 0, failures: { timeout: 1 } });
    expect(batch.unserved).toEqual({ 'body-timeout': 1, 'no-origin': 1 });
    expect(Object.keys(batch.sessions).sort()).toEqual(['a', 'b']);
    expect(tally.isEmpty).toBe(true);
    expect(tally.drain().origins).toEqual({});
  });
});

describe('merging the reports of several isolates', () => {
  /** Two isolates, each serving its sessions to one origin over the minute before `T0 + 70 s`. */
  function twoIsolates() {
    const window = newFleetWindow(T0);
    const ids = sessionIds(3_000, 9);
    for (let report = 0; report < 6; report++) {
      for (const [isolate, slice] of [ids.slice(0, 2_000), ids.slice(1_000)].entries()) {
        const tally = new TrafficTally();
        for (const id of slice.slice(report * 300, report * 300 + 300)) {
          tally.count(served('a', { decision: isolate === 0 ? 'new' : 'pinned' }), id, T0 + report * 10_000);
        }
        tally.count(served('b', { status: 502 }), `b-${report}-${isolate}`, T0 + report * 10_000);
        mergeBatch(window, structuredClone(tally.drain()), T0 + report * COUNT_BUCKET_MS + 1_000 * (isolate + 1));
      }
    }
    return { window, ids };
  }

  it('adds counts and takes the latest request, whatever the isolate', () => {
    const { window } = twoIsolates();
    const view = fleetView(window, T0 + 65_000);
    expect(view.totals.origins.a!.requests).toBe(3_600);
    expect(view.totals.origins.b!.responses).toEqual({ '5xx': 12 });
    expect(view.totals.origins.a!.lastRequestAt).toBe(T0 + 50_000);
  });

  it('keeps the latest request when a slower isolate reports an older one afterwards', () => {
    const { window } = twoIsolates();
    const late = new TrafficTally();
    late.count(served('a'), 'late', T0 + 1_000);
    mergeBatch(window, late.drain(), T0 + 62_000);
    expect(fleetView(window, T0 + 63_000).totals.origins.a!.lastRequestAt).toBe(T0 + 50_000);
  });

  it('counts active sessions as distinct over the fleet: a session two isolates served counts once', () => {
    const { window } = twoIsolates();
    const view = fleetView(window, T0 + 65_000);
    // Isolate 0 saw sessions 0..1799, isolate 1 saw 1000..2799: 2,800 distinct, 3,600 if summed.
    expect(Math.abs(view.activeSessions.a! - 2_800) / 2_800).toBeLessThan(0.1);
    expect(view.activeSessionsTotal).toBeGreaterThan(view.activeSessions.a!);
  });

  it('forgets sessions after five minutes, counts after fifteen', () => {
    const { window } = twoIsolates();
    // At 5:45 only the sketch bucket that started at 0:30 is within the window: reports 3 to 5, 1,800 sessions.
    expect(Math.abs(fleetView(window, T0 + 5 * 60_000 + 45_000).activeSessions.a! - 1_800) / 1_800).toBeLessThan(0.1);
    expect(fleetView(window, T0 + 6 * 60_000 + 1_000).activeSessions.a ?? 0).toBe(0);
    expect(fleetView(window, T0 + 14 * 60_000).buckets.length).toBe(6);
    expect(fleetView(window, T0 + 16 * 60_000).buckets).toEqual([]);
    expect(fleetView(window, T0 + 16 * 60_000).totals.origins.a!.requests).toBe(3_600); // totals stay
  });

  it('derives rates, error rates, quantiles, shares and a 15-minute series from complete buckets', () => {
    const { window } = twoIsolates();
    const view = fleetView(window, T0 + 60_000 + 5_000); // buckets T0 .. T0+50s are complete
    const figures = originFigures(view, ['a', 'b', 'gone']);
    // The rate window: buckets from T0+10s to the current one (T0+60s), 55 s up to now, 3,000 requests.
    expect(figures.a!.requestsPerSecond).toBeCloseTo(3_000 / 55, 6);
    expect(figures.a!.errorRate).toBe(0);
    expect(figures.b!.errorRate).toBe(1);
    expect(figures.a!.p50Ms).toBeGreaterThan(10);
    expect(figures.a!.p50Ms).toBeLessThanOrEqual(25);
    expect(figures.a!.newSessionShare).toBe(1);
    expect(figures.b!.newSessionShare).toBe(0);
    expect(figures.a!.series).toHaveLength(90);
    expect(figures.a!.series.slice(-6)).toEqual(new Array(6).fill(60));
    expect(figures.b!.errorSeries.slice(-6)).toEqual(new Array(6).fill(0.2));
    expect(figures.gone).toMatchObject({
      requestsPerSecond: 0,
      errorRate: null,
      activeSessions: 0,
      lastRequestAt: null,
    });
    // Concurrency over the last 20 s (the buckets from T0+50s, 15 s up to now): 600 requests of 20 ms.
    expect(fleetLoad(view).origins.a).toEqual({
      requestsPerSecond: 3_000 / 55,
      activeSessions: view.activeSessions.a,
      concurrency: (600 * 20) / 15_000,
    });
  });

  it('gives an origin that answers ten times slower ten times the concurrency at the same request rate', () => {
    const window = newFleetWindow(T0);
    for (let report = 0; report < 3; report++) {
      const tally = new TrafficTally();
      for (let i = 0; i < 100; i++) {
        tally.count(served('fast', { durationMs: 20 }), `f${i}`, T0 + report * 10_000);
        tally.count(served('slow', { durationMs: 200 }), `s${i}`, T0 + report * 10_000);
      }
      mergeBatch(window, tally.drain(), T0 + report * COUNT_BUCKET_MS + 1_000);
    }
    const { origins } = fleetLoad(fleetView(window, T0 + 25_000));
    expect(origins.slow!.requestsPerSecond).toBe(origins.fast!.requestsPerSecond);
    expect(origins.slow!.concurrency / origins.fast!.concurrency).toBeCloseTo(10, 9);
    // The last 20 s: the buckets from T0+10s, 15 s up to now, 200 requests of each.
    expect(origins.fast!.concurrency).toBeCloseTo((200 * 20) / 15_000, 9);
  });
});

describe('drained', () => {
  const rule = (idleMs: number, ...since: [number | undefined] | []) => ({
    idleMs,
    drainingSince: since.length === 0 ? T0 : since[0],
    reportIntervalMs: 10_000,
    drainReportLagMs: 2_000,
  });
  function windowWithRequestAt(at: number) {
    const window = newFleetWindow(T0);
    const tally = new TrafficTally();
    tally.count(served('a'), 's', at);
    mergeBatch(window, tally.drain(), at + 1_000);
    return window;
  }

  it('is true only once no request was reported for the idle time and the reports’ lag', () => {
    const window = windowWithRequestAt(T0 + 10_000);
    expect(isDrained(originFleetFacts(fleetView(window, T0 + 20_000), 'a'), rule(300_000))).toBe(false);
    expect(isDrained(originFleetFacts(fleetView(window, T0 + 311_999), 'a'), rule(300_000))).toBe(false);
    expect(isDrained(originFleetFacts(fleetView(window, T0 + 312_000), 'a'), rule(300_000))).toBe(true);
    expect(isDrained(originFleetFacts(fleetView(window, T0 + 16_999), 'a'), rule(5_000))).toBe(false);
    expect(isDrained(originFleetFacts(fleetView(window, T0 + 17_000), 'a'), rule(5_000))).toBe(true);
  });

  it('waits for the reports of requests made before the drain began, and for a start it does not know', () => {
    const window = windowWithRequestAt(T0 - 60_000);
    const drainStart = T0 + 100_000;
    const facts = (ms: number) => originFleetFacts(fleetView(window, drainStart + ms), 'a');
    expect(isDrained(facts(11_999), rule(60_000, drainStart))).toBe(false);
    expect(isDrained(facts(12_000), rule(60_000, drainStart))).toBe(true);
    expect(isDrained(facts(12_000), rule(60_000, undefined))).toBe(false);
  });

  it('answers a short idle time once the drain is older than it: no request from before can still matter', () => {
    const window = windowWithRequestAt(T0 - 60_000);
    const drainStart = T0 + 100_000;
    const at = (ms: number) =>
      isDrained(originFleetFacts(fleetView(window, drainStart + ms), 'a'), rule(1_000, drainStart));
    expect(at(2_999)).toBe(false);
    expect(at(3_000)).toBe(true);
  });

  it('is never true on the word of an aggregator that has not watched that long (new or restarted)', () => {
    const restarted = newFleetWindow(T0 + 100_000, { since: T0, origins: {}, unserved: {} });
    expect(isDrained(originFleetFacts(fleetView(restarted, T0 + 200_000), 'a'), rule(300_000))).toBe(false);
    expect(isDrained(originFleetFacts(fleetView(restarted, T0 + 401_999), 'a'), rule(300_000))).toBe(false);
    expect(isDrained(originFleetFacts(fleetView(restarted, T0 + 402_000), 'a'), rule(300_000))).toBe(true);
  });
});
