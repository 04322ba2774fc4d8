/**
 * Whether an origin's session directive (`release`, `repin=<id>`, `replay=<id>`) can be followed for
 * this request, and what it then does. Pure: the directive, the origins in force and their health in,
 * an action or the reason it is ignored out.
 *
 * A session may be handed to an origin that would take it over now: configured, `active` in force
 * (neither the operator nor the origin itself has it draining or disabled: a draining origin is on its
 * way out, and a drain that keeps receiving sessions never ends) and up by health. Its weight does not
 * matter: weight is the share of sessions the hash places, and a hand-over is placed by the application,
 * so a weight-0 origin is a standby that takes only the sessions handed to it.
 *
 * A replay sends the same request again, so it needs a body that can be sent again, a response that
 * is not a WebSocket connection already made, another origin than the one that answered, and a request
 * that is not a replay itself: a replay is followed once, never in a chain or a loop.
 */
import type { SessionDirective } from './affinity-control';
import type { Availability, RoutableOrigin } from '../routing/route-plan';

export interface SessionControlContext {
  indexOf: ReadonlyMap<string, number>;
  /** The origins with their state and weight in force. */
  origins: readonly RoutableOrigin[];
  availability(index: number): Availability;
  /** The origin that answered. */
  served: number;
  /** This answer is to a replay already. */
  replayed: boolean;
  /** The request's body can be sent again (none, or buffered). */
  replayable: boolean;
  /** The answer switched protocols (a WebSocket). */
  upgraded: boolean;
}

export type SessionAction = { kind: 'release' } | { kind: 'repin' | 'replay'; target: number };

export type SessionControlResolution = { ok: true; action: SessionAction } | { ok: false; reason: string };

export function resolveSessionDirective(
  directive: SessionDirective,
  context: SessionControlContext,
): SessionControlResolution {
  if (directive.kind === 'release') return { ok: true, action: { kind: 'release' } };
  const target = context.indexOf.get(directive.originId);
  if (target === undefined) return { ok: false, reason: `no origin "${directive.originId}" in the configuration` };
  const cannot = whyCannotTakeSessions(target, context);
  if (cannot) return { ok: false, reason: `origin "${directive.originId}" ${cannot}` };
  if (directive.kind === 'replay') {
    const refusal = replayRefusal(target, context);
    if (refusal) return { ok: false, reason: refusal };
  }
  return { ok: true, action: { kind: directive.kind, target } };
}

/** Why an origin cannot take a session over now, if it cannot. */
function whyCannotTakeSessions(index: number, context: SessionControlContext): string | undefined {
  const { state } = context.origins[index]!;
  if (state !== 'active') return `takes no sessions: it is ${state}`;
  const availability = context.availability(index);
  if (availability === 'unhealthy') return 'takes no sessions: it is unhealthy';
  if (availability === 'connect-failed') return 'takes no sessions: its connection failed here';
  return undefined;
}

function replayRefusal(target: number, context: SessionControlContext): string | undefined {
  if (context.replayed) return 'a replayed request is not replayed again';
  if (target === context.served) return 'names the origin that answered';
  if (context.upgraded) return 'the connection was upgraded (WebSocket): there is no request to send again';
  if (!context.replayable) return 'the request body streamed through and cannot be sent again';
  return undefined;
}
