/**
 * The fleet aggregator itself (the real object, in workerd): what each admin route receives from it.
 */
import { abortAllDurableObjects, listDurableObjectIds, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TrafficTally } from '../../worker/core/traffic-counts';
import { seedConfig, testEnv } from './support';

const fleet = () => testEnv.HEALTH_MONITOR.getByName('fleet');

/** One isolate's report of `count` requests to `origin`. */
function report(origin: string, count: number) {
  const tally = new TrafficTally();
  for (let i = 0; i < count; i++) {
    tally.count({ origin, decision: 'pinned', status: 200, durationMs: 5, failures: [] }, `s${i}`, Date.now());
  }
  return fleet().recordTraffic(tally.drain());
}


beforeEach(() => seedConfig({ origins: [{ id: 'one', url: 'http://one' }] }));

afterEach(async () => {
  for (const id of await listDurableObjectIds(testEnv.HEALTH_MONITOR)) {
    await runInDurableObject(testEnv.HEALTH_MONITOR.get(id), async (_, state) => {
      await state.storage.deleteAlarm();
      await state.storage.deleteAll();
    });
  }
  await abortAllDurableObjects();
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
