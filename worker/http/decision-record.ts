/**
 * The decision record of one request (decision-log.ts), built once from what the request presented,
 * its plan and what came of it: the proxy's only place that turns an exchange into a record, so the
 * log, the header, the counts and Analytics Engine all say the same thing.
 */
import { loggedPath } from '../core/text/logged-path';
import type { Settlement } from '../core/routing/route-settlement';
import type { DecisionRecord } from '../core/routing/decision-record';
import type { Attempts, Exchange } from './exchange';

export function decisionRecord(
  exchange: Exchange,
  attempts: Attempts,
  settlement: Settlement,
  status: number,
): DecisionRecord {
  const { incoming, url, plan, session, table, startedAt } = exchange;
  const idOf = (index: number) => table.origins[index]!.id;
  const origin = attempts.kind === 'answered' ? idOf(attempts.answeredBy) : null;
  const record: DecisionRecord = {
    method: incoming.request.method,
    path: loggedPath(url.pathname),
    origin,
    decision: settlement.decision,
    ...(settlement.reason ? { reason: settlement.reason } : {}),
    cookie: session.reading.outcome,
    ...(table.learned.length > 0 ? { envelope: session.envelope.outcome, learned: session.envelope.learned } : {}),
    status,
    durationMs: Date.now() - startedAt,
    // The origin whose answer a replay dropped had the request too.
    tried: attempts.failures.length + (origin ? 1 : 0) + (attempts.replay ? 1 : 0),
    failOpen: plan.failOpen,
    failures: attempts.failures,
    ...(attempts.kind === 'refused' && attempts.stopped ? { stopped: attempts.stopped } : {}),
    ...(attempts.kind === 'client' ? { clientFailure: attempts.failure.kind } : {}),
    ...(attempts.control && attempts.control.followed.length > 0 ? { control: attempts.control.followed } : {}),
    ...(attempts.replay ? { replayedFrom: idOf(attempts.replay.from) } : {}),
    ...(settlement.handedOverTo !== undefined ? { handedOverTo: idOf(settlement.handedOverTo) } : {}),
    ...(origin && session.state?.handedTo === origin ? { stateFrom: session.state.originId } : {}),
  };
  return record;
}
