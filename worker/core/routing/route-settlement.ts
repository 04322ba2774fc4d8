/**
 * What a request's outcome makes of its session, derived once from the plan and what the forwarder
 * reports: where the session is pinned from now on, and the decision the log and the debugging header
 * state. Pure: nothing downstream rewrites what the plan said; this only reads how it went.
 *
 * - The plan's first candidate answered: the plan's decision holds.
 * - A kept pin whose origin failed (not reached, a broken connection, no answer in time), answered by
 *   the next origin: the session moved (`repinned`, the failure's reason: `cf-521`, `connect-failed`,
 *   `timeout`, ...) and is pinned there.
 * - A new or moved session is pinned wherever it was answered.
 * - A replay an origin asked for (`Affinity-Control: replay=`): a pinned session has moved (`replay`),
 *   a new one is new where it was answered.
 * - Nobody answered, and the request was not sent on (it may have reached an origin that broke, and
 *   may not run twice): when the session's own origin is gone or its connection broke, the session
 *   moves to the candidate that was next in line, so that the client's retry goes there; when it was
 *   only slow, the pin stays (its state is still there).
 * - Nobody answered, and no candidate was left: the plan's decision, and the pin stays as it was.
 * - What the answering origin said of the session (`Affinity-Control`) comes last: `release` ends the
 *   pin, `repin=<id>` hands it over to that origin. So this is the one place that says where a session
 *   is pinned after a request: the cookie, the log and the counts all read it from here.
 */
import { originFailed, type FailureClass, type FailureReason } from '../failover/failed-attempt';
import type { Decision, RepinReason, RoutePlan } from './route-plan';
import type { SessionAction } from '../control/session-control';

/** Why the answer came from elsewhere than the session's pin, when it did. */
export type SettledReason = RepinReason | FailureReason;

export interface Attempted {
  /** The origin index that answered; undefined when none did. */
  answeredBy?: number;
  /** The failed attempts before it, in order. */
  failures: readonly (FailureClass & { index: number })[];
  /** The answer is a replay that this origin asked for. */
  replayOf?: number;
  /** When nobody answered and the forwarder stopped short of a candidate: that candidate. */
  next?: number;
  /** What the answering origin's `Affinity-Control` asked of the session, once followed. */
  control?: SessionAction;
}

export interface Settlement {
  decision: Decision;
  reason?: SettledReason;
  /** The origin the session is pinned to from now on (its cookie names it); undefined: the pin stays as it was. */
  pinnedTo?: number;
  /** The answering origin ended the session's pin (`release`): its cookie is deleted. */
  released?: true;
  /** The answering origin handed the session over to this other origin (`repin=<id>`): `pinnedTo` is it. */
  handedOverTo?: number;
}

export function settleRoute(plan: RoutePlan, attempted: Attempted): Settlement {
  const routed = settleRouting(plan, attempted);
  const { control, answeredBy } = attempted;
  if (answeredBy === undefined || !control) return routed;
  if (control.kind === 'release') return { ...routed, pinnedTo: undefined, released: true };
  if (control.kind === 'repin' && control.target !== answeredBy) {
    return { ...routed, pinnedTo: control.target, handedOverTo: control.target };
  }
  return routed;
}

function settleRouting(plan: RoutePlan, attempted: Attempted): Settlement {
  const { answeredBy } = attempted;
  if (answeredBy === undefined) return unanswered(plan, attempted);
  if (attempted.replayOf !== undefined) {
    const moved = plan.decision !== 'new';
    return { decision: moved ? 'repinned' : 'new', reason: moved ? 'replay' : undefined, pinnedTo: answeredBy };
  }
  const first = plan.candidates.first;
  // A rebalancing move whose first choice failed: the session stays on its pin, which answered.
  if (plan.rebalancedFrom === answeredBy) return { decision: 'pinned', pinnedTo: answeredBy };
  if (plan.decision !== 'pinned' || answeredBy === first) {
    return { decision: plan.decision, reason: plan.reason, pinnedTo: answeredBy };
  }
  const pinFailed = attempted.failures.find((failure) => failure.index === first);
  return { decision: 'repinned', reason: pinFailed?.reason ?? 'connect-failed', pinnedTo: answeredBy };
}

function unanswered(plan: RoutePlan, { failures, next }: Attempted): Settlement {
  const own = failures.find((failure) => failure.index === plan.candidates.first);
  if (next === undefined || !own || !originFailed(own)) return { decision: plan.decision, reason: plan.reason };
  if (plan.decision !== 'pinned') return { decision: plan.decision, reason: plan.reason, pinnedTo: next };
  return { decision: 'repinned', reason: own.reason, pinnedTo: next };
}
