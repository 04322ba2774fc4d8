import { describe, expect, it } from 'vitest';
import {
  planReplay,
  planRoute,
  type Availability,
  type RoutePlan,
  type RouteRequest,
  type RoutableOrigin,
} from '../../worker/core/routing/route-plan';
import { createSelector } from '../../worker/core/routing/selector';

const ORIGINS: RoutableOrigin[] = [
  { id: 'a', weight: 1, state: 'active' },
  { id: 'b', weight: 1, state: 'active' },
  { id: 'c', weight: 1, state: 'active' },
  { id: 'd', weight: 1, state: 'active' },
];

function request(overrides: Partial<RouteRequest> & { down?: Record<number, Availability> } = {}): RouteRequest {
  const origins = overrides.origins ?? ORIGINS;
  const down = overrides.down ?? {};
  return {
    origins,
    selector: createSelector('rendezvous', origins),
    failover: 'sticky',
    attempts: 3,
    sessionKey: 'session-1',
    availability: (i) => down[i] ?? 'up',
    ...overrides,
  };
}

/** A plan with its candidates walked to the end, as the forwarder would if every one failed. */
function walked(plan: RoutePlan): Omit<RoutePlan, 'candidates'> & { candidates: number[] } {
  return { ...plan, candidates: [...plan.candidates] };
}

const planned = (r: RouteRequest) => walked(planRoute(r));

/** The session key's own order over all four origins. */
const preference = createSelector('rendezvous', ORIGINS).pick('session-1', () => true, 4);
const [first, second, third, fourth] = preference as [number, number, number, number];

describe('planRoute', () => {
  it('pins a new session to the first origin of its preference list, with the next ones as failover', () => {
    expect(planned(request())).toEqual({ candidates: [first, second, third], decision: 'new', failOpen: false });
  });

  it('keeps a valid pin, whatever the hash would choose today', () => {
    const plan = planRoute(request({ pinned: fourth }));
    expect(plan).toMatchObject({ decision: 'pinned', failOpen: false });
    expect(plan.candidates.first).toBe(fourth);
    expect([...plan.candidates]).toEqual([fourth, first, second]);
  });

  it('ranks the spares of a kept pin only when asked (they are needed only if the pin fails)', () => {
    let ranked = 0;
    const selector = createSelector('rendezvous', ORIGINS);
    const counting = { pick: (...args: Parameters<typeof selector.pick>) => (ranked++, selector.pick(...args)) };
    const plan = planRoute(request({ pinned: fourth, selector: counting }));
    const walk = plan.candidates[Symbol.iterator]();
    expect([walk.next().value, ranked]).toEqual([fourth, 0]);
    expect([walk.next().value, ranked]).toEqual([first, 1]);
    expect([walk.next().value, walk.next().done, ranked]).toEqual([second, true, 1]);
  });

  it('keeps the sessions of draining and weight-0 origins', () => {
    const origins = ORIGINS.map((o, i) =>
      i === fourth ? { ...o, state: 'draining' as const } : i === third ? { ...o, weight: 0 } : o,
    );
    expect(planRoute(request({ origins, pinned: fourth })).candidates.first).toBe(fourth);
    expect(planRoute(request({ origins, pinned: third })).candidates.first).toBe(third);
  });

  it('gives no new session to draining, disabled, weight-0 or down origins', () => {
    const origins = ORIGINS.map((o, i) =>
      i === first
        ? { ...o, state: 'draining' as const }
        : i === second
          ? { ...o, state: 'disabled' as const }
          : i === third
            ? { ...o, weight: 0 }
            : o,
    );
    expect(planned(request({ origins })).candidates).toEqual([fourth]);
    expect(planned(request({ down: { [first]: 'unhealthy', [second]: 'connect-failed' } })).candidates).toEqual([
      third,
      fourth,
    ]);
  });

  it.each([
    ['unhealthy', 'unhealthy'],
    ['connect-failed', 'connect-failed'],
  ] as const)(
    're-pins a session whose origin is %s to the next origin of its own list, before any attempt',
    (availability, reason) => {
      const plan = planned(request({ pinned: first, down: { [first]: availability } }));
      expect(plan).toEqual({ candidates: [second, third, fourth], decision: 'repinned', reason, failOpen: false });
    },
  );

  it('re-pins the sessions of a disabled origin', () => {
    const origins = ORIGINS.map((o, i) => (i === first ? { ...o, state: 'disabled' as const } : o));
    expect(planned(request({ origins, pinned: first }))).toMatchObject({
      candidates: [second, third, fourth],
      decision: 'repinned',
      reason: 'disabled',
    });
  });

  it('re-pins removed and expired pins, and says why', () => {
    expect(planned(request({ lapsedPin: 'removed' }))).toMatchObject({
      candidates: [first, second, third],
      decision: 'repinned',
      reason: 'removed',
    });
    expect(planned(request({ lapsedPin: 'expired' }))).toMatchObject({ decision: 'repinned', reason: 'expired' });
  });

  describe('with failover "none"', () => {
    it('answers from nowhere rather than move a session off a down origin', () => {
      const plan = planned(request({ failover: 'none', pinned: first, down: { [first]: 'unhealthy' } }));
      expect(plan).toEqual({ candidates: [], decision: 'pinned', reason: 'unhealthy', failOpen: false });
    });

    it('tries only the pinned origin, without in-request failover', () => {
      expect(planned(request({ failover: 'none', pinned: second })).candidates).toEqual([second]);
    });

    it('still moves the sessions of a disabled origin, which is not coming back', () => {
      const origins = ORIGINS.map((o, i) => (i === first ? { ...o, state: 'disabled' as const } : o));
      expect(planned(request({ origins, failover: 'none', pinned: first })).decision).toBe('repinned');
    });
  });

  describe('when health calls every origin down', () => {
    const allDown = { 0: 'unhealthy', 1: 'unhealthy', 2: 'unhealthy', 3: 'connect-failed' } as const;

    it('fails open for new sessions, in preference order', () => {
      expect(planned(request({ down: allDown }))).toEqual({
        candidates: [first, second, third],
        decision: 'new',
        failOpen: true,
      });
    });

    it('fails open for pinned sessions, pinned origin first', () => {
      expect(planned(request({ down: allDown, pinned: third }))).toEqual({
        candidates: [third, first, second],
        decision: 'pinned',
        failOpen: true,
      });
      expect(planned(request({ down: allDown, pinned: third, failover: 'none' }))).toEqual({
        candidates: [third],
        decision: 'pinned',
        failOpen: true,
      });
    });

    it('has nothing to offer when no origin takes sessions at all', () => {
      const origins = ORIGINS.map((o) => ({ ...o, state: 'disabled' as const }));
      expect(planned(request({ origins }))).toEqual({ candidates: [], decision: 'new', failOpen: false });
    });
  });
});

describe('placement within a load bound', () => {
  /** A bound that refuses the origins listed, and counts how often it was made. */
  function bound(over: number[]) {
    const made = { count: 0 };
    const placement = () => {
      made.count++;
      return (index: number) => !over.includes(index);
    };
    return { placement, made };
  }

  it('sends a new session past origins above the bound, to the next of its own list, keeping them as last resorts', () => {
    const { placement, made } = bound([first]);
    expect(planned(request({ placement }))).toEqual({
      candidates: [second, third, fourth],
      decision: 'new',
      failOpen: false,
    });
    expect(planned(request({ placement: bound([first, second, third]).placement })).candidates).toEqual([
      fourth,
      first,
      second,
    ]);
    expect(made.count).toBe(1);
  });

  it('never moves a kept pin for load, and makes no bound for it', () => {
    const { placement, made } = bound([fourth]);
    const plan = planRoute(request({ pinned: fourth, placement }));
    expect(plan.candidates.first).toBe(fourth);
    expect(made.count).toBe(0);
    // Its spares are placements: they respect the bound.
    const spares = [...planRoute(request({ pinned: fourth, placement: bound([first]).placement })).candidates];
    expect(spares).toEqual([fourth, second, third]);
  });

  it('places a session that must move (its origin down, disabled or removed) within the bound too', () => {
    const { placement } = bound([second]);
    expect(planned(request({ pinned: first, down: { [first]: 'unhealthy' }, placement })).candidates).toEqual([
      third,
      fourth,
      second,
    ]);
    expect(planned(request({ lapsedPin: 'removed', placement })).candidates).toEqual([first, third, fourth]);
  });
});

describe('a replay', () => {
  it('goes to the origin named, then along the session’s own list, never back to the origin that asked', () => {
    expect([...planReplay(request(), third, first)]).toEqual([third, second, fourth]);
    expect([...planReplay(request({ attempts: 1 }), third, first)]).toEqual([third]);
    expect([...planReplay(request({ failover: 'none' }), third, first)]).toEqual([third]);
  });
});
