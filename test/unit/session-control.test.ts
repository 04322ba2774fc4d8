import { describe, expect, it } from 'vitest';
import type { Availability, RoutableOrigin } from '../../worker/core/routing/route-plan';
import { resolveSessionDirective, type SessionControlContext } from '../../worker/core/control/session-control';

const ORIGINS: RoutableOrigin[] = [
  { id: 'a', weight: 1, state: 'active' },
  { id: 'b', weight: 1, state: 'active' },
  { id: 'standby', weight: 0, state: 'active' },
  { id: 'leaving', weight: 1, state: 'draining' },
  { id: 'off', weight: 1, state: 'disabled' },
  { id: 'sick', weight: 1, state: 'active' },
  { id: 'refused', weight: 1, state: 'active' },
];
const DOWN: Record<string, Availability> = { sick: 'unhealthy', refused: 'connect-failed' };

function context(overrides: Partial<SessionControlContext> = {}): SessionControlContext {
  return {
    indexOf: new Map(ORIGINS.map((o, i) => [o.id, i])),
    origins: ORIGINS,
    availability: (i) => DOWN[ORIGINS[i]!.id] ?? 'up',
    served: 0,
    replayed: false,
    replayable: true,
    upgraded: false,
    ...overrides,
  };
}

describe('resolveSessionDirective', () => {
  it('always follows release', () => {
    expect(resolveSessionDirective({ kind: 'release' }, context({ replayed: true }))).toEqual({
      ok: true,
      action: { kind: 'release' },
    });
  });

  it.each(['repin', 'replay'] as const)(
    '%s: hands the session to an active origin that is up, a weight-0 standby included',
    (kind) => {
      expect(resolveSessionDirective({ kind, originId: 'b' }, context())).toEqual({
        ok: true,
        action: { kind, target: 1 },
      });
      expect(resolveSessionDirective({ kind, originId: 'standby' }, context())).toEqual({
        ok: true,
        action: { kind, target: 2 },
      });
    },
  );

  it.each(['repin', 'replay'] as const)(
    '%s: refuses an origin that is unknown, draining, disabled or down, saying why',
    (kind) => {
      const reasons = ['nope', 'leaving', 'off', 'sick', 'refused'].map(
        (originId) => resolveSessionDirective({ kind, originId }, context()) as { ok: false; reason: string },
      );
      expect(reasons.map((r) => r.ok)).toEqual([false, false, false, false, false]);
      expect(reasons.map((r) => r.reason)).toEqual([
        'no origin "nope" in the configuration',
        'origin "leaving" takes no sessions: it is draining',
        'origin "off" takes no sessions: it is disabled',
        'origin "sick" takes no sessions: it is unhealthy',
        'origin "refused" takes no sessions: its connection failed here',
      ]);
    },
  );

  it('repins to the origin that answered (nothing moves)', () => {
    expect(resolveSessionDirective({ kind: 'repin', originId: 'a' }, context())).toEqual({
      ok: true,
      action: { kind: 'repin', target: 0 },
    });
  });

  it('replays at most once, never to the origin that answered, never a streamed body or an upgraded connection', () => {
    const replayB = (overrides: Partial<SessionControlContext>) =>
      resolveSessionDirective({ kind: 'replay', originId: 'b' }, context(overrides));
    expect(replayB({ replayed: true })).toEqual({ ok: false, reason: 'a replayed request is not replayed again' });
    expect(replayB({ served: 1 })).toEqual({ ok: false, reason: 'names the origin that answered' });
    expect(replayB({ replayable: false })).toEqual({
      ok: false,
      reason: 'the request body streamed through and cannot be sent again',
    });
    expect(replayB({ upgraded: true })).toEqual({
      ok: false,
      reason: 'the connection was upgraded (WebSocket): there is no request to send again',
    });
    // None of those stops a repin: the answer is kept, only the next request goes elsewhere.
    expect(
      resolveSessionDirective({ kind: 'repin', originId: 'b' }, context({ replayed: true, replayable: false })),
    ).toEqual({
      ok: true,
      action: { kind: 'repin', target: 1 },
    });
  });
});
