/**
 * The tier of location objects between the isolates and the global objects, with the real objects:
 * isolates of two named locations (`request.cf.colo`, as Cloudflare sets it) read the health snapshot
 * from, and report their traffic to, the object of their own location, which forwards the merged
 * reports to the fleet aggregator; a location object restarted mid-run loses nothing and counts
 * nothing twice, and the fleet's totals never go back; a location object that cannot be reached costs
 * no request its answer.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Bindings } from '../../worker/bindings';
import { locationObjectOf } from '../../worker/monitor/monitor-client';
import type { RelayLedger } from '../../worker/monitor/location-protocol';
import {
  answersWith,
  emptyHealthMonitors,
  forwardLocations,
  freshWorker,
  seedConfig,
  stubOrigins,
  testEnv,
} from './support';

const ORIGINS = ['one', 'two'].map((id) => ({ id, url: `http://${id}` }));

/** An isolate of location `colo`: its requests carry `cf.colo` as Cloudflare's do. */
function isolateIn(colo: string, monitor: Bindings['HEALTH_MONITOR'] = testEnv.HEALTH_MONITOR) {
  const worker = freshWorker({ HEALTH_MONITOR: monitor });
  return {
    ...worker,
    browse: async (count = 1) => {
      for (let i = 0; i < count; i++) {
        const response = await worker.fetch(new Request('http://proxy.test/', { cf: { colo } }));
        expect(response.status).toBe(200);
      }
    },
  };
}

const location = (colo: string) => locationObjectOf(testEnv.HEALTH_MONITOR, colo);

async function ledgerOf(colo: string): Promise<RelayLedger | undefined> {
  return runInDurableObject(location(colo), (_, state) => state.storage.get<RelayLedger>('relayLedger'));
}

/** The fleet's request total as the metrics export it (stored totals), after the aggregator's alarm stored them. */
async function exportedRequests(): Promise<number> {
  await runDurableObjectAlarm(testEnv.HEALTH_MONITOR.getByName('fleet'));
  const metrics = await testEnv.HEALTH_MONITOR.getByName('fleet').fleetMetrics();
  return Object.values(metrics.totals.origins).reduce((sum, counts) => sum + counts.requests, 0);
}

beforeEach(async () => {
  await seedConfig({ origins: ORIGINS, health: { interval: 3600 } });
  stubOrigins({ one: answersWith('one'), two: answersWith('two') });
});

afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await emptyHealthMonitors();
});

describe('isolates of two locations', () => {
  it('report to their own location’s object, which forwards the merged reports to the fleet aggregator', async () => {
    const [amsterdam, frankfurt, alsoAmsterdam] = [isolateIn('AMS'), isolateIn('FRA'), isolateIn('AMS')];
    await amsterdam.browse(3);
    await frankfurt.browse(2);
    await alsoAmsterdam.browse(4);
    await forwardLocations(['AMS', 'FRA']);
    expect(await exportedRequests()).toBe(9);
    // Each location's object forwarded: its ledger says so. The default location saw nothing.
    expect(Object.values((await ledgerOf('AMS'))!)).toHaveLength(1);
    expect(Object.values((await ledgerOf('FRA'))!)).toHaveLength(1);
    expect(await runDurableObjectAlarm(location('default'))).toBe(false);
  });

  it('route by the coordinator’s snapshot as their location’s object keeps it, dated when the coordinator took it', async () => {
    const [amsterdam, alsoAmsterdam, frankfurt] = [isolateIn('AMS'), isolateIn('AMS'), isolateIn('FRA')];
    await amsterdam.browse();
    const takenAt = amsterdam.isolate.health.takenAt!;
    expect(takenAt).toBeLessThanOrEqual(Date.now());
    await new Promise((resolve) => setTimeout(resolve, 20));
    await alsoAmsterdam.browse();
    await frankfurt.browse();
    // The second isolate of AMS got the copy AMS keeps (one coordinator read for both), with the
    // coordinator's time, not the time it was handed over; FRA's object read its own.
    expect(alsoAmsterdam.isolate.health.takenAt).toBe(takenAt);
    expect(frankfurt.isolate.health.takenAt).toBeGreaterThan(takenAt);
  });
});

describe('a location object restarted mid-run', () => {
  it('loses nothing and counts nothing twice: its isolates send again what it held, and the totals never go back', async () => {
    const [first, second] = [isolateIn('AMS'), isolateIn('AMS')];
    const totals: number[] = [];
    await first.browse(2); // the first report after a quiet interval goes out at once, the second waits
    totals.push(await exportedRequests());
    await first.browse(3); // held by the location object, for its next forward
    await second.browse(4);
    expect(first.isolate.traffic.unconfirmed).toBeGreaterThan(0);
    totals.push(await exportedRequests());
    await runInDurableObject(location('AMS'), (_, state) => state.abort('restarted')).catch(() => {});
    // Their next reports reach a new incarnation, whose stored ledger vouches only for the first forward.
    await first.browse(1);
    await second.browse(1);
    await forwardLocations(['AMS']);
    await first.browse(1); // the next reports learn that their batches went out
    await second.browse(1);
    await forwardLocations(['AMS']);
    totals.push(await exportedRequests());
    expect(totals.at(-1)).toBe(2 + 3 + 4 + 1 + 1 + 1 + 1);
    expect(totals).toEqual([...totals].sort((a, b) => a - b));
  });
});

describe('a location object that cannot be reached', () => {
  it('costs no request its answer: the isolate routes by the snapshot it has and keeps its batch for the next report', async () => {
    let unreachable = false;
    const monitor = {
      getByName: (name: string) => {
        if (!unreachable || !name.startsWith('location:')) return testEnv.HEALTH_MONITOR.getByName(name);
        const refuse = () => Promise.reject(new Error('Durable Object reset'));
        return { relayedSnapshot: refuse, relaySync: refuse, relayTraffic: refuse };
      },
    } as unknown as Bindings['HEALTH_MONITOR'];
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    const isolate = isolateIn('AMS', monitor);
    await isolate.browse(2);
    const takenAt = isolate.isolate.health.takenAt;
    unreachable = true;
    vi.advanceTimersByTime(6_000); // a snapshot refresh is due
    await isolate.browse(3);
    expect(isolate.isolate.health.takenAt).toBe(takenAt);
    unreachable = false;
    await isolate.browse(1);
    await forwardLocations(['AMS']);
    expect(await exportedRequests()).toBe(6);
  });
});
