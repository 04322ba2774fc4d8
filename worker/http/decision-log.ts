/**
 * One structured log line per proxied request (the decision record, core/routing/decision-record.ts),
 * so that every routing decision can be understood afterwards, and the opt-in debugging header.
 */
import type { AttemptFailure } from '../core/failover/failed-attempt';
import type { DecisionRecord } from '../core/routing/decision-record';
import { logEvent } from '../log';

export function logDecision(record: DecisionRecord): void {
  // `handedOverTo` is in `control` already (`repin=<id>`): it is there for the counts.
  const { failures, reason, clientFailure, stopped, handedOverTo: _handedOverTo, ...fields } = record;
  logEvent(record.status >= 500 && !record.origin ? 'warn' : 'info', 'request', {
    ...fields,
    ...(reason ? { reason } : {}),
    ...(clientFailure ? { clientFailure } : {}),
    ...(stopped ? { stopped } : {}),
    attempts: failures.map(attemptLine),
  });
}

/** A failed attempt as the log has it: which origin, whether it can have reached it, why, and the status or error. */
function attemptLine({ originId, kind, reason, status, error }: AttemptFailure) {
  return { origin: originId, kind, reason, ...(status !== undefined ? { status } : {}), ...(error ? { error } : {}) };
}

/**
 * The opt-in debugging header (`affinity.decisionHeader`): `repinned; origin=app-2; reason=unhealthy;
 * cookie=valid`, with `affinity.learn` `…; envelope=valid; learned=header:mcp-session-id`, and after an
 * origin's `Affinity-Control` `…; replayed-from=app-1; control="replay=app-2, drain"`.
 */
export function decisionHeader(record: DecisionRecord): string {
  const parts = [record.decision, `origin=${record.origin ?? 'none'}`];
  if (record.reason) parts.push(`reason=${record.reason}`);
  parts.push(`cookie=${record.cookie}`);
  if (record.envelope) parts.push(`envelope=${record.envelope}`);
  if (record.learned) parts.push(`learned=${record.learned}`);
  if (record.replayedFrom) parts.push(`replayed-from=${record.replayedFrom}`);
  if (record.control) parts.push(`control="${record.control.join(', ')}"`);
  return parts.join('; ');
}

export const DECISION_HEADER = 'x-affinity-decision';
