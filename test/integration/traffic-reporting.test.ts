/**
 * What an isolate sends about its traffic: coalesced reports to its location object (at most one per
 * report interval, behind responses, the last requests before a quiet spell included), and one
 * Analytics Engine data point per routing decision when the dataset is bound. The location object
 * itself, and what it forwards, is tested in location-tier.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FleetLoad, TrafficBatch } from '../../worker/monitor/fleet-protocol';
import type { LocationObject } from '../../worker/monitor/monitor-client';
import type { RelayAnswer } from '../../worker/monitor/location-protocol';
import { TrafficReporter } from '../../worker/fleet/traffic-reporter';
import { affinityCookie, answersWith, freshWorker, seedConfig, stubOrigins, testEnv } from './support';
import { claimsOf } from '../support/affinity-claims';

const ORIGINS = ['one', 'two'].map((id) => ({ id, url: `http://${id}` }));
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

/** A location object that records every report, forwards each at once and answers a load figure. */
function recordingAggregator() {
  const reports: { at: number; batch: TrafficBatch }[] = [];
  const load: FleetLoad = {
    takenAt: T0,
    origins: { one: { requestsPerSecond: 42, activeSessions: 7, concurrency: 1.5 } },
  };
  const stub = {
    relayTraffic: async (batch: TrafficBatch): Promise<RelayAnswer> => {
      reports.push({ at: Date.now(), batch });
      const round = reports.length;
      return { incarnation: 'a', receipt: { incarnation: 'a', round }, ledger: { a: { round, at: Date.now() } }, load };
    },
  };
  const env = () => stub as unknown as LocationObject;
  return { reports, env, load };
}

const requestsIn = (batch: TrafficBatch) => Object.values(batch.origins).reduce((sum, c) => sum + c.requests, 0);

describe('traffic reports', () => {
  afterEach(() => vi.useRealTimers());

  it('go out at most once per interval, behind responses, and carry the last requests before a quiet spell', async () => {
    vi.useFakeTimers({ now: T0 });
    const { reports, env, load } = recordingAggregator();
    const reporter = new TrafficReporter({ reportIntervalMs: 10_000 });
    const background: Promise<unknown>[] = [];
    for (let second = 0; second <= 25; second++) {
      reporter.count({ origin: 'one', decision: 'pinned', status: 200, durationMs: 5, failures: [] }, 's', Date.now());
      reporter.scheduleReport(env, Date.now(), (task) => background.push(task));
      await vi.advanceTimersByTimeAsync(1_000);
    }
    await vi.advanceTimersByTimeAsync(60_000);
    await Promise.all(background);
    expect(reports.map((r) => r.at - T0)).toEqual([0, 10_000, 20_000, 30_000]);
    expect(reports.map((r) => requestsIn(r.batch))).toEqual([1, 9, 10, 6]);
    expect(reporter.fleetLoad).toEqual(load);
  });

  it('go out within a second while they carry requests of a draining origin, every 10 s otherwise', async () => {
    vi.useFakeTimers({ now: T0 });
    const { reports, env } = recordingAggregator();
    const reporter = new TrafficReporter({ reportIntervalMs: 10_000, drainReportIntervalMs: 1_000 });
    const background: Promise<unknown>[] = [];
    const request = (draining: boolean) => {
      const counted = { origin: 'one', decision: 'pinned', status: 200, durationMs: 5, failures: [] } as const;
      reporter.count(counted, 's', Date.now(), { draining });
      reporter.scheduleReport(env, Date.now(), (task) => background.push(task));
    };
    request(false); // t = 0: the first report goes at once
    await vi.advanceTimersByTimeAsync(500);
    request(false); // due at 10 s
    await vi.advanceTimersByTimeAsync(1_500);
    request(true); // t = 2 s: due at once (more than 1 s after the last report), with the one before
    await vi.advanceTimersByTimeAsync(500);
    request(true); // t = 2.5 s: due at 3 s
    await vi.advanceTimersByTimeAsync(20_000);
    await Promise.all(background);
    expect(reports.map((r) => [r.at - T0, requestsIn(r.batch)])).toEqual([
      [0, 1],
      [2_000, 2],
      [3_000, 1],
    ]);
  });

  it('are scheduled again when the task that was to send one ended before it could (the runtime cancelled it)', async () => {
    vi.useFakeTimers({ now: T0 });
    const { reports, env } = recordingAggregator();
    const reporter = new TrafficReporter({ reportIntervalMs: 10_000 });
    const request = () => {
      reporter.count({ origin: 'one', decision: 'pinned', status: 200, durationMs: 5, failures: [] }, 's', Date.now());
      reporter.scheduleReport(env, Date.now(), () => {});
    };
    request(); // t = 0: goes at once
    vi.setSystemTime(T0 + 1_000);
    request(); // due at 10 s, in a task whose timer is then dropped with it
    vi.clearAllTimers();
    vi.setSystemTime(T0 + 15_000);
    request(); // the lost report was due 5 s ago, within the bound: still taken to be on its way
    vi.setSystemTime(T0 + 15_001);
    request(); // due more than 5 s ago and never sent: this request sends
    await vi.advanceTimersByTimeAsync(0);
    expect(reports.map((r) => [r.at - T0, requestsIn(r.batch)])).toEqual([
      [0, 1],
      [15_001, 3],
    ]);
  });

  it('are not sent when there is nothing to report', async () => {
    const { reports, env } = recordingAggregator();
    const reporter = new TrafficReporter({ reportIntervalMs: 0 });
    const background: Promise<unknown>[] = [];
    reporter.scheduleReport(env, Date.now(), (task) => background.push(task));
    await Promise.all(background);
    expect(background).toEqual([]);
    expect(reports).toEqual([]);
  });
});

describe('Analytics Engine', () => {
  beforeEach(async () => {
    await seedConfig({ origins: ORIGINS });
    stubOrigins({ one: answersWith('one'), two: answersWith('two') });
  });
  afterEach(() => vi.restoreAllMocks());

  it('receives one data point per routing decision, with no session id, cookie or address in it', async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const worker = freshWorker({ AFFINITY_ANALYTICS: { writeDataPoint: (point) => void points.push(point!) } });
    const first = await worker.fetch(
      new Request('http://proxy.test/cart', { headers: { 'cf-connecting-ip': '203.0.113.9' }, cf: { colo: 'AMS' } }),
    );
    const cookie = affinityCookie(first)!;
    const servedBy = first.headers.get('x-served-by')!;
    await worker.fetch('http://proxy.test/cart', { headers: { cookie } });
    stubOrigins({ one: 'refuse', two: 'refuse' });
    expect((await worker.fetch('http://proxy.test/cart')).status).toBe(502);
    expect(points).toHaveLength(3);
    expect(points[0]).toEqual({
      indexes: [servedBy],
      blobs: [servedBy, 'new', '', 'absent', '2xx', 'AMS', ''],
      doubles: [expect.any(Number), 1, 200],
    });
    expect(points[1]!.blobs!.slice(0, 5)).toEqual([servedBy, 'pinned', '', 'valid', '2xx']);
    expect(points[2]).toMatchObject({
      indexes: ['none'],
      blobs: ['', 'new', '', 'absent', '5xx', '', ''],
      doubles: [expect.any(Number), 2, 502],
    });
    const written = JSON.stringify(points);
    const { sessionId } = await claimsOf(cookie, testEnv.AFFINITY_SECRET!);
    for (const secret of [cookie.split('=')[1]!, sessionId, '203.0.113.9']) {
      expect(written).not.toContain(secret);
    }
  });

  it('never costs a request its answer when the runtime refuses a data point', async () => {
    const worker = freshWorker({
      AFFINITY_ANALYTICS: {
        writeDataPoint: () => {
          throw new Error('dataset unavailable');
        },
      },
    });
    expect((await worker.fetch('http://proxy.test/')).status).toBe(200);
  });
});
