import { describe, expect, it } from 'vitest';
import {
  FLEET_LOAD_MAX_AGE_MS,
  fleetConcurrencyByIndex,
  originLoad,
  usableFleetLoad,
} from '../../worker/core/routing/load-estimate';

const fleet = {
  takenAt: 1_000_000,
  origins: {
    a: { requestsPerSecond: 10, activeSessions: 5, concurrency: 2.5 },
    b: { requestsPerSecond: 10, activeSessions: 5, concurrency: 0.25 },
  },
};

describe('the load an isolate places by', () => {
  it('adds the fleet’s concurrency and this isolate’s requests in flight, by origin index', () => {
    const byIndex = fleetConcurrencyByIndex(fleet, ['b', 'gone', 'a']);
    expect([...byIndex]).toEqual([0.25, 0, 2.5]);
    const load = originLoad(byIndex, Int32Array.from([1, 3, 0]));
    expect([0, 1, 2].map(load)).toEqual([1.25, 3, 2.5]);
  });

  it('is this isolate’s requests in flight alone without usable fleet figures', () => {
    expect([0, 1].map(originLoad(undefined, Int32Array.from([2, 0])))).toEqual([2, 0]);
  });

  it('leaves out fleet figures older than they may be in the steady state, and two report intervals more', () => {
    expect(usableFleetLoad(fleet, fleet.takenAt + FLEET_LOAD_MAX_AGE_MS)).toBe(fleet);
    expect(usableFleetLoad(fleet, fleet.takenAt + FLEET_LOAD_MAX_AGE_MS + 1)).toBeUndefined();
    expect(usableFleetLoad(undefined, 0)).toBeUndefined();
  });
});
