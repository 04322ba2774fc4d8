/**
 * Where a request's decision record goes once it is built: the fleet view's counts (and Analytics
 * Engine when bound), and the decision log — every line, or with `decisionLog: "changes"` all but the
 * routine ones.
 */
import { isRoutine, type DecisionRecord } from '../core/routing/decision-record';
import { logDecision } from './decision-log';
import type { Exchange } from './exchange';

/**
 * `at`: when the request ended for the client (http/open-request.ts): when its response headers came,
 * or when a draining origin's response was delivered. The last request of an origin is dated then.
 */
export function reportDecision(exchange: Exchange, record: DecisionRecord, at: number): void {
  const { incoming, isolate, table, session } = exchange;
  const index = record.origin === null ? undefined : table.indexOf.get(record.origin);
  isolate.countRequest(
    incoming.env,
    record,
    {
      sessionId: session.countedKey,
      location: () => incoming.request.cf?.colo as string | undefined,
      draining: index !== undefined && table.origins[index]!.state === 'draining',
    },
    at,
  );
  if (table.config.affinity.decisionLog === 'all' || !isRoutine(record)) logDecision(record);
}
