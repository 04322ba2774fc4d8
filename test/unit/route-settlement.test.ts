import { describe, expect, it } from 'vitest';
import { planRoute, type RouteRequest, type RoutableOrigin } from '../../worker/core/routing/route-plan';
import { settleRoute } from '../../worker/core/routing/route-settlement';
import { createSelector } from '../../worker/core/routing/selector';

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
    const failures = [{ index: first, kind: 'may-have-reached' as const, reason: 'connect-failed' as const }];
    expect(settleRoute(plan({ pinned: first }), { answeredBy: second, failures })).toEqual({
      decision: 'repinned',
      reason: 'connect-failed',
      pinnedTo: second,
    });
  });

  it('says which answer of Cloudflare moved the session (cf-521, cf-530, ...)', () => {
    for (const reason of ['cf-521', 'cf-522', 'cf-530'] as const) {
      const failures = [{ index: first, kind: 'not-reached' as const, reason }];
      expect(settleRoute(plan({ pinned: first }), { answeredBy: second, failures })).toEqual({
        decision: 'repinned',
        reason,
        pinnedTo: second,
      });
    }
  });

  it('moves a pinned session whose origin did not answer in time, like one whose connection failed', () => {
    const failures = [{ index: first, kind: 'may-have-reached' as const, reason: 'timeout' as const }];
    expect(settleRoute(plan({ pinned: first }), { answeredBy: second, failures })).toEqual({
      decision: 'repinned',
      reason: 'timeout',
      pinnedTo: second,
    });
  });

  it('pins a new session wherever it was answered, whatever failed before', () => {
    const failures = [{ index: first, kind: 'may-have-reached' as const, reason: 'timeout' as const }];
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

  it('leaves the pin as it was when nobody answered and no origin was left to try', () => {
    const failures = [{ index: first, kind: 'may-have-reached' as const, reason: 'connect-failed' as const }];
    expect(settleRoute(plan({ pinned: first }), { failures })).toEqual({ decision: 'pinned' });
  });

  it('moves the pin to the next origin when its own broke and the request could not be sent on', () => {
    const broken = [
      { kind: 'may-have-reached', reason: 'connect-failed' },
      { kind: 'may-have-reached', reason: 'cf-520' },
      { kind: 'not-reached', reason: 'cf-521' },
    ] as const;
    for (const { kind, reason } of broken) {
      const failures = [{ index: first, kind, reason }];
      expect(settleRoute(plan({ pinned: first }), { failures, next: second }), reason).toEqual({
        decision: 'repinned',
        reason,
        pinnedTo: second,
      });
    }
    const failures = [{ index: first, kind: 'may-have-reached' as const, reason: 'connect-failed' as const }];
    expect(settleRoute(plan(), { failures, next: second }), 'a new session').toEqual({
      decision: 'new',
      pinnedTo: second,
    });
  });

  it('keeps the pin when its origin was only slow (timeout, 524), even with an origin left to try', () => {
    for (const reason of ['timeout', 'cf-524'] as const) {
      const failures = [{ index: first, kind: 'may-have-reached' as const, reason }];
      expect(settleRoute(plan({ pinned: first }), { failures, next: second }), reason).toEqual({ decision: 'pinned' });
    }
  });
});

describe('what the answering origin said of the session, settled last', () => {
  it('release ends the pin; repin hands it over to the origin named, which the cookie then names', () => {
    const kept = plan({ pinned: first });
    expect(settleRoute(kept, { answeredBy: first, failures: [], control: { kind: 'release' } })).toEqual({
      decision: 'pinned',
      released: true,
    });
    expect(settleRoute(kept, { answeredBy: first, failures: [], control: { kind: 'repin', target: second } })).toEqual({
      decision: 'pinned',
      pinnedTo: second,
      handedOverTo: second,
    });
    // Naming itself changes nothing.
    expect(settleRoute(kept, { answeredBy: first, failures: [], control: { kind: 'repin', target: first } })).toEqual({
      decision: 'pinned',
      pinnedTo: first,
    });
  });

  it('says nothing when no origin answered, whatever the control', () => {
    expect(settleRoute(plan({ pinned: first }), { failures: [], control: { kind: 'release' } })).toEqual({
      decision: 'pinned',
    });
  });
});

describe('a rebalancing move', () => {
  it('moves the session to its new first choice; if that fails and the old pin answers, the session stays', () => {
    const moving = plan({ pinned: second, rebalance: () => true });
    expect(moving).toMatchObject({ decision: 'repinned', reason: 'rebalance', rebalancedFrom: second });
    expect(moving.candidates.first).toBe(first);
    expect(settleRoute(moving, { answeredBy: first, failures: [] })).toEqual({
      decision: 'repinned',
      reason: 'rebalance',
      pinnedTo: first,
    });
    const failures = [{ index: first, kind: 'not-reached' as const, reason: 'cf-521' as const }];
    expect(settleRoute(moving, { answeredBy: second, failures })).toEqual({ decision: 'pinned', pinnedTo: second });
  });

  it('tries the first choice and the pin only in strict mode, and never rebalances a request that may try one origin', () => {
    const strict = plan({ pinned: second, rebalance: () => true, failover: 'none' });
    expect([...strict.candidates]).toEqual([first, second]);
    expect(plan({ pinned: second, rebalance: () => true, attempts: 1 }).decision).toBe('pinned');
    expect([...plan({ pinned: second, rebalance: () => true, attempts: 2 }).candidates]).toEqual([first, second]);
  });

  it('is not asked for a session already on its first choice, nor for one whose origin is draining or weighs 0', () => {
    let asked = 0;
    const rebalance = () => (asked++, true);
    expect(plan({ pinned: first, rebalance }).decision).toBe('pinned');
    const draining = ORIGINS.map((o, i) => (i === second ? { ...o, state: 'draining' as const } : o));
    expect(plan({ pinned: second, rebalance, origins: draining }).decision).toBe('pinned');
    const weightless = ORIGINS.map((o, i) => (i === second ? { ...o, weight: 0 } : o));
    expect(plan({ pinned: second, rebalance, origins: weightless }).decision).toBe('pinned');
    expect(asked).toBe(0);
  });
});
