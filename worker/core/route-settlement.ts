/**
 * What a request's outcome makes of its session, derived once from the plan and what the forwarder
 * reports: where the session is pinned from now on, and the decision the log and the debugging header
 * state. Pure: nothing downstream rewrites what the plan said; this only reads how it went.
 *
 * - The plan's first candidate answered: the plan's decision holds.
 * - A kept pin whose origin failed to connect or did not answer in time, answered by the next origin:
 *   the session moved (`repinned`, reason `connect-failed` or `timeout`) and is pinned there, as the
 *   contract asks.
 * - A new or moved session is pinned wherever it was answered.
 * - A replay an origin asked for (`Affinity-Control: replay=`): a pinned session has moved (`replay`),
 *   a new one is new where it was answered.
 * - Nobody answered: the plan's decision, and the pin stays as it was.
 */
import type { Decision, RepinReason, RoutePlan } from './route-plan';

/** Why the answer came from elsewhere than the session's pin, when it did. */
export type SettledReason = RepinReason | 'timeout';

export interface Attempted {
  /** The origin index that answered; undefined when none did. */
  answeredBy?: number;
  /** The failed attempts before it, in order. */
  failures: readonly { index: number; kind: 'connect-failed' | 'timeout' }[];
  /** The answer is a replay that this origin asked for. */
  replayOf?: number;
}

export interface Settlement {
  decision: Decision;
  reason?: SettledReason;
  /** The origin the session is pinned to from now on (its cookie names it); undefined: none answered. */
  pinnedTo?: number;
}

export function settleRoute(plan: RoutePlan, attempted: Attempted): Settlement {
  const { answeredBy } = attempted;
  if (answeredBy === undefined) return { decision: plan.decision, reason: plan.reason };
  if (attempted.replayOf !== undefined) {
    const moved = plan.decision !== 'new';
    return { decision: moved ? 'repinned' : 'new', reason: moved ? 'replay' : undefined, pinnedTo: answeredBy };
  }
  const first = plan.candidates.first;
  if (plan.decision !== 'pinned' || answeredBy === first) {
    return { decision: plan.decision, reason: plan.reason, pinnedTo: answeredBy };
  }
  const pinFailed = attempted.failures.find((failure) => failure.index === first);
  return { decision: 'repinned', reason: pinFailed?.kind ?? 'connect-failed', pinnedTo: answeredBy };
}
