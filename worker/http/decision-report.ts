/**
 * Where a request's decision record goes once it is built: the fleet view's counts (and Analytics
 * Engine when bound), and the decision log — every line, or with `decisionLog: "changes"` all but the
 * routine ones.
 */
import { isRoutine, logDecision, type DecisionRecord } from './decision-log';
import type { Exchange } from './exchange';

export function reportDecision(exchange: Exchange, record: DecisionRecord): void {
  const { incoming, isolate, table, session, startedAt } = exchange;
  const index = record.origin === null ? undefined : table.indexOf.get(record.origin);
  isolate.countRequest(
    incoming.env,
    record,
    {
      // The session as the consistent hash knows it: a learned value's or the cookie's, never a
      // fresh id drawn for a client that keeps no cookie (each of its requests would count as a session).
      sessionId: session.sessionKey,
      location: () => incoming.request.cf?.colo as string | undefined,
      draining: index !== undefined && table.origins[index]!.state === 'draining',
    },
    startedAt,
  );
  if (table.config.affinity.decisionLog === 'all' || !isRoutine(record)) logDecision(record);
}
