/**
 * The fleet aggregator itself (the real object, in workerd): when its totals reach storage, what its
 * metrics export across a restart, how long it keeps the totals of origins the configuration lost,
 * and what each admin route receives from it.
 */
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TrafficTally } from '../../worker/core/fleet/traffic-counts';
import { REMOVED_ORIGIN_RETENTION_MS } from '../../worker/core/fleet/fleet-retention';
import { RETIREMENT_CHECK_MS } from '../../worker/monitor/aggregator/fleet-aggregator';
import { PERSIST_INTERVAL_MS, type FleetTotals } from '../../worker/monitor/fleet-protocol';
import { emptyHealthMonitors, seedConfig, testEnv } from './support';

const fleet = () => testEnv.HEALTH_MONITOR.getByName('fleet');

/** One isolate's report of `count` requests to `origin`. */
function report(origin: string, count: number) {
  const tally = new TrafficTally();
  for (let i = 0; i < count; i++) {
    tally.count({ origin, decision: 'pinned', status: 200, durationMs: 5, failures: [] }, `s${i}`, Date.now());
  }
  return fleet().recordTraffic(tally.drain());
}

const exportedRequests = async (origin: string) => (await fleet().fleetMetrics()).totals.origins[origin]?.requests;
const storedTotals = () => runInDurableObject(fleet(), (_, state) => state.storage.get<FleetTotals>('fleet'));

beforeEach(() => seedConfig({ origins: [{ id: 'one', url: 'http://one' }] }));

afterEach(async () => {
  vi.useRealTimers();
  await emptyHealthMonitors();
});

describe('the totals', () => {
  it('reach storage by the alarm a report sets, within the persist interval, whether more reports come or not', async () => {
    const before = Date.now();
    await report('one', 3);
    const alarm = await runInDurableObject(fleet(), (_, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThanOrEqual(before + PERSIST_INTERVAL_MS);
    expect(alarm).toBeLessThanOrEqual(Date.now() + PERSIST_INTERVAL_MS);
    expect(await storedTotals()).toBeUndefined(); // the report did not wait for a write
    expect(await runDurableObjectAlarm(fleet())).toBe(true);
    expect((await storedTotals())!.origins.one!.requests).toBe(3);
  });

  it('are exported as stored, so that a counter never goes back when the object restarts', async () => {
    const exported: (number | undefined)[] = [];
    await report('one', 5);
    exported.push(await exportedRequests('one')); // not stored yet: not exported
    await runDurableObjectAlarm(fleet());
    exported.push(await exportedRequests('one'));
    await report('one', 2); // counted in memory only, then lost with it
    exported.push(await exportedRequests('one'));
    await abortAllDurableObjects();
    exported.push(await exportedRequests('one'));
    await report('one', 1);
    await runDurableObjectAlarm(fleet());
    exported.push(await exportedRequests('one'));
    expect(exported).toEqual([undefined, 5, 5, 5, 6]);
  });
});

describe('the recent window', () => {
  it('outlives an eviction: active sessions, the chart and watchingSince read the same after the object restarts', async () => {
    await report('one', 21);
    await runDurableObjectAlarm(fleet());
    const before = await fleet().fleetStatus(['one']);
    expect(before.origins.one!.activeSessions).toBe(21);
    await abortAllDurableObjects();
    const after = await fleet().fleetStatus(['one']);
    expect(after.watchingSince).toBe(before.watchingSince);
    expect(after.activeSessionsTotal).toBe(21);
    expect(after.origins.one!.activeSessions).toBe(21);
    expect(after.origins.one!.series).toEqual(before.origins.one!.series);
    expect(after.origins.one!.lastRequestAt).toBe(before.origins.one!.lastRequestAt);
    expect((await fleet().fleetMetrics()).totals.origins.one!.requests).toBe(21);
  });

  it('keeps in storage only the buckets inside the window, and never loses a stored one to a later write', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    await report('one', 4);
    await runDurableObjectAlarm(fleet());
    vi.setSystemTime(start + 40_000); // a later bucket of each kind
    await report('one', 3);
    await runDurableObjectAlarm(fleet());
    const stored = () =>
      runInDurableObject(fleet(), async (_, state) => [
        ...(await state.storage.list({ prefix: 'fleetBucket:' })).keys(),
      ]);
    const both = await stored();
    expect(both.filter((k) => k.startsWith('fleetBucket:counts:'))).toHaveLength(2);
    expect(both.filter((k) => k.startsWith('fleetBucket:sketches:'))).toHaveLength(2);
    await abortAllDurableObjects();
    expect((await fleet().fleetStatus(['one'])).origins.one!.activeSessions).toBe(4); // s0..s3 in both buckets
    vi.setSystemTime(start + 16 * 60_000); // everything stored has left the window
    await report('one', 1);
    await runDurableObjectAlarm(fleet());
    const left = await stored();
    expect(left).toHaveLength(2); // the new bucket of each kind only
    expect((await fleet().fleetMetrics()).totals.origins.one!.requests).toBe(8);
  });
});

describe('origins gone from the configuration', () => {
  it('keep their totals for the retention period, then leave storage and the metrics', async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    await report('one', 1);
    await report('gone', 4);
    await runDurableObjectAlarm(fleet()); // marks "gone" removed, keeps it
    expect(await exportedRequests('gone')).toBe(4);
    vi.advanceTimersByTime(REMOVED_ORIGIN_RETENTION_MS - 1);
    await report('one', 1);
    await runDurableObjectAlarm(fleet()); // within the retention period: kept
    expect(await exportedRequests('gone')).toBe(4);
    vi.advanceTimersByTime(RETIREMENT_CHECK_MS); // the next look, after the retention period
    await report('one', 1);
    await runDurableObjectAlarm(fleet());
    expect(await exportedRequests('gone')).toBeUndefined();
    expect(Object.keys((await storedTotals())!.origins)).toEqual(['one']);
    expect(await exportedRequests('one')).toBe(3);
  });

  it('are kept while the configuration cannot be read or is not good', async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    await testEnv.ORIGINS.put('config', '{"origins": "not a list"}');
    await report('gone', 4);
    await runDurableObjectAlarm(fleet());
    vi.advanceTimersByTime(REMOVED_ORIGIN_RETENTION_MS + RETIREMENT_CHECK_MS);
    await report('gone', 1);
    await runDurableObjectAlarm(fleet());
    expect(await exportedRequests('gone')).toBe(5);
  });
});

describe('what each admin route receives', () => {
  it('is only what it shows: the status page its origins’ figures, one origin its own without the chart', async () => {
    await report('one', 2);
    await report('two', 2);
    const status = await fleet().fleetStatus(['one']);
    expect(Object.keys(status).sort()).toEqual(['activeSessionsTotal', 'origins', 'takenAt', 'watchingSince']);
    expect(Object.keys(status.origins)).toEqual(['one']);
    expect(status.origins.one!.series).toHaveLength(90);
    const origin = await fleet().fleetOrigin('two');
    expect(Object.keys(origin).sort()).toEqual(['figures', 'lastRequestAt', 'takenAt', 'watchingSince']);
    expect(origin.figures).not.toHaveProperty('series');
    expect(origin.figures.activeSessions).toBe(2);
  });
});
