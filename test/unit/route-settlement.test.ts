import { describe, expect, it } from 'vitest';
import { planRoute, type RouteRequest, type RoutableOrigin } from '../../worker/core/route-plan';
import { settleRoute } from '../../worker/core/route-settlement';
import { createSelector } from '../../worker/core/selector';

const ORIGINS: RoutableOrigin[] = ['a', 'b', 'c', 'd'].map((id) => ({ id, weight: 1, state: 'active' as const }));
const [first, second] = createSelector('rendezvous', ORIGINS).pick('session-1', () => true, 2) as [number, number];

function plan(overrides: Partial<RouteRequest> = {}) {
  return planRoute({
    origins: ORIGINS,
    selector: createSelector('rendezvous', ORIGINS),
    failover: 'sticky',
    attempts: 3,
    sessionKey: 'session-1',
    availability: () => 'up',
    ...overrides,
  });
}

describe('what a request’s outcome makes of its session', () => {
  it('keeps the plan’s decision when its first candidate answers', () => {
    expect(settleRoute(plan({ pinned: first }), { answeredBy: first, failures: [] })).toEqual({
      decision: 'pinned',
      pinnedTo: first,
    });
    expect(settleRoute(plan(), { answeredBy: first, failures: [] })).toEqual({ decision: 'new', pinnedTo: first });
    expect(settleRoute(plan({ lapsedPin: 'removed' }), { answeredBy: first, failures: [] })).toEqual({
      decision: 'repinned',
      reason: 'removed',
      pinnedTo: first,
    });
  });

  it('moves a kept pin whose origin refused the connection to the origin that answered', () => {
    const failures = [{ index: first, kind: 'connect-failed' as const }];
    expect(settleRoute(plan({ pinned: first }), { answeredBy: second, failures })).toEqual({
      decision: 'repinned',
      reason: 'connect-failed',
      pinnedTo: second,
    });
  });

  it('moves a pinned session whose origin did not answer in time, like one whose connection failed', () => {
    const failures = [{ index: first, kind: 'timeout' as const }];
    expect(settleRoute(plan({ pinned: first }), { answeredBy: second, failures })).toEqual({
      decision: 'repinned',
      reason: 'timeout',
      pinnedTo: second,
    });
  });

  it('pins a new session wherever it was answered, whatever failed before', () => {
    const failures = [{ index: first, kind: 'timeout' as const }];
    expect(settleRoute(plan(), { answeredBy: second, failures })).toEqual({ decision: 'new', pinnedTo: second });
  });

  it('moves a pinned session for a replay, and leaves a new one new', () => {
    expect(settleRoute(plan({ pinned: first }), { answeredBy: second, failures: [], replayOf: first })).toEqual({
      decision: 'repinned',
      reason: 'replay',
      pinnedTo: second,
    });
    expect(settleRoute(plan(), { answeredBy: second, failures: [], replayOf: first })).toEqual({
      decision: 'new',
      pinnedTo: second,
    });
  });

  it('leaves the pin as it was when nobody answered', () => {
    const failures = [{ index: first, kind: 'connect-failed' as const }];
    expect(settleRoute(plan({ pinned: first }), { failures })).toEqual({ decision: 'pinned' });
  });
});
