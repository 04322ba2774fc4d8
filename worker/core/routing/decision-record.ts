/**
 * The decision record of one request: where it went, why, and what the cookie and any envelope said.
 * Built once per request (http/decision-record.ts); the log, the debugging header, the fleet's counts
 * and Analytics Engine all read this one record. Deliberately absent: cookie values, envelopes and the
 * values in them, session ids, client addresses, query strings and secrets.
 */
import type { ClientFailureKind } from '../failover/client-failure';
import type { AttemptFailure } from '../failover/failed-attempt';
import type { ForwardStop } from '../failover/replay-rule';
import type { CookieOutcome } from '../session/affinity-session';
import type { EnvelopeOutcome } from '../session/envelope-reading';
import type { Decision } from './route-plan';
import type { SettledReason } from './route-settlement';

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
