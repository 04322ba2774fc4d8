/**
 * One structured log line per proxied request, so that every routing decision can be understood
 * afterwards: where it went, why, and what the cookie and any envelope said. Deliberately absent:
 * cookie values, envelopes and the values in them, session ids, client addresses, query strings and
 * secrets.
 */
import type { CookieOutcome } from '../core/session/affinity-session';
import type { EnvelopeOutcome } from '../core/session/envelope-reading';
import type { Decision } from '../core/routing/route-plan';
import type { SettledReason } from '../core/routing/route-settlement';
import { logEvent } from '../log';
import type { ClientFailureKind } from './client-failure';
import type { AttemptFailure } from '../core/failover/failed-attempt';
import type { ForwardStop } from './forwarder';

export interface DecisionRecord {
  method: string;
  path: string;
  /** The origin that served the request; null when none did. */
  origin: string | null;
  decision: Decision;
  /** With `repinned`, why the session left its origin (`cf-521`, `connect-failed`, `timeout`, `unhealthy`, …). */
  reason?: SettledReason;
  cookie: CookieOutcome;
  /** With `affinity.learn` only: what the request carried under the learned names. */
  envelope?: EnvelopeOutcome;
  /** The learned name `envelope` is about (`header:mcp-session-id`), when one was carried. */
  learned?: string;
  status: number;
  durationMs: number;
  /** Origins tried, the one that served included. */
  tried: number;
  failOpen: boolean;
  /** The failed attempts, in order (the log writes them as `attempts`). */
  failures: readonly AttemptFailure[];
  /** Why no further origin was tried, when none answered (`not-idempotent`, `resent-once`, `budget`, …). */
  stopped?: ForwardStop;
  /** The request failed on the client's side (no origin was blamed for it). */
  clientFailure?: ClientFailureKind;
  /**
   * The `Affinity-Control` directives followed for this request, as written canonically (`release`,
   * `repin=app-2`, `drain`, `weight=50%`), those of a replayed answer first.
   */
  control?: string[];
  /** The origin whose answer was dropped for `replay=<id>`; `origin` is the one that answered the replay. */
  replayedFrom?: string;
  /** The origin the session was handed over to (`repin=<id>`): its cookie names it from now on. */
  handedOverTo?: string;
  /** With `affinity.handoff`: the answering origin got the session's sealed state, sealed by this origin. */
  stateFrom?: string;
}

/**
 * With `affinity.decisionLog: "changes"`, the bulk of traffic (a valid pin kept, answered without
 * trouble) is not logged, like HAProxy's `option dontlog-normal`; everything else still is. A pin is
 * valid when the request carried a valid cookie or a valid envelope, and nothing else it carried was bad.
 */
export function isRoutine(record: DecisionRecord): boolean {
  const envelope = record.envelope ?? 'absent';
  const credentialsValid =
    (record.cookie === 'valid' || record.cookie === 'absent') &&
    (envelope === 'valid' || envelope === 'absent') &&
    (record.cookie === 'valid' || envelope === 'valid');
  return (
    record.decision === 'pinned' &&
    credentialsValid &&
    record.failures.length === 0 &&
    record.status < 500 &&
    !record.clientFailure &&
    !record.control
  );
}

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
