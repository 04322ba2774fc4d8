/**
 * What goes back with an answer besides the origin's own response: the session's cookie (fresh when
 * due, deleted on the origin's `release`), the values it issued under learned names sealed, and the
 * routing decision, counted for the fleet view, logged and, when asked for, in a debugging header.
 * The worker's own refusals and the client's failures are answered and recorded here too.
 */
import { signAffinityToken } from '../core/affinity-token';
import { MAX_LEARNED_VALUE_BYTES } from '../core/learned-envelope';
import { issuesAffinityCookie } from '../core/session-pin';
import { logEvent } from '../log';
import { affinityCookieHeader, clearedAffinityCookieHeader } from './affinity-cookie';
import type { ClientFailure } from './client-failure';
import { DECISION_HEADER, decisionHeader, isRoutine, logDecision, type DecisionRecord } from './decision-log';
import { clientFault, originUnavailable, type UnavailableReason } from './error-responses';
import type { Exchange } from './exchange';
import { sealLearnedValues } from './learned-response';
import { keepOutOfSharedCaches } from './private-response';

/** Values the serving origin issued under learned names, sealed in envelopes that name it. */
export async function sealLearned(exchange: Exchange, headers: Headers, originId: string): Promise<void> {
  const { table, session } = exchange;
  const signer = async () => (await session.envelopeKeys()).current;
  const { unsealed } = session.envelope;
  const summary = await sealLearnedValues(headers, { names: table.learned, originId, signer, unsealed });
  for (const { learned, bytes } of summary.tooLong) {
    logEvent('warn', 'learn.value-too-long', { learned, bytes, limit: MAX_LEARNED_VALUE_BYTES, origin: originId });
  }
}

/** `Affinity-Control: release`: the cookie is deleted, and no fresh one is issued. */
export function endPin(exchange: Exchange, headers: Headers): void {
  const { c, table } = exchange;
  headers.append('set-cookie', clearedAffinityCookieHeader(table.config.affinity, c.req.url));
  keepOutOfSharedCaches(headers);
}

export async function issueCookieIfDue(exchange: Exchange, headers: Headers, originId: string): Promise<void> {
  const { c, table, session } = exchange;
  const { affinity } = table.config;
  const nowSeconds = Math.floor(exchange.startedAt / 1000);
  if (!issuesAffinityCookie(session.reading, session.envelope, { originId, nowSeconds, ttl: affinity.ttl })) return;
  const claims = { originId, sessionId: session.sessionId, expiresAt: nowSeconds + affinity.ttl };
  const token = await signAffinityToken(claims, session.keys.current);
  headers.append('set-cookie', affinityCookieHeader(token, affinity, c.req.url));
  keepOutOfSharedCaches(headers);
}

/** What a replay that no origin answered adds to the record: where it came from, what was followed. */
export type ReplayFields = Pick<DecisionRecord, 'control' | 'replayedFrom'>;

export function refuse(
  exchange: Exchange,
  reason: UnavailableReason,
  failures: DecisionRecord['failures'],
  replayed?: ReplayFields,
): Response {
  const response = originUnavailable(reason, exchange.table.config.health.interval);
  const record = { ...decisionRecord(exchange, response.status, null, failures), ...replayed };
  finish(exchange, record, response.headers);
  return response;
}

/** The client's problem: answered and logged as such; no origin, health record or pin changes. */
export function blameClient(
  exchange: Exchange,
  failure: ClientFailure,
  failures: DecisionRecord['failures'],
  replayed?: ReplayFields,
): Response {
  const response = clientFault(failure);
  const record = {
    ...decisionRecord(exchange, response.status, null, failures),
    ...replayed,
    clientFailure: failure.kind,
  };
  finish(exchange, record, response.headers);
  return response;
}

export function decisionRecord(
  exchange: Exchange,
  status: number,
  origin: string | null,
  failures: DecisionRecord['failures'],
): DecisionRecord {
  const { c, plan, session, table } = exchange;
  const { outcome: envelope, learned } = session.envelope;
  return {
    method: c.req.method,
    path: c.req.path,
    origin,
    decision: plan.decision,
    reason: plan.reason,
    cookie: session.reading.outcome,
    ...(table.learned.length > 0 ? { envelope, learned } : {}),
    status,
    durationMs: Date.now() - exchange.startedAt,
    attempts: failures.length + (origin ? 1 : 0),
    failOpen: plan.failOpen,
    failures,
  };
}

export function finish(exchange: Exchange, record: DecisionRecord, headers: Headers): void {
  const { c, isolate, table } = exchange;
  const index = record.origin === null ? undefined : table.indexOf.get(record.origin);
  isolate.countRequest(
    c.env,
    record,
    {
      sessionId: exchange.session.sessionId,
      location: c.req.raw.cf?.colo as string | undefined,
      draining: index !== undefined && table.origins[index]!.state === 'draining',
    },
    exchange.startedAt,
  );
  isolate.upkeep(c.env, table, Date.now(), (task) => c.executionCtx.waitUntil(task));
  const { decisionLog, decisionHeader: withHeader } = table.config.affinity;
  if (decisionLog === 'all' || !isRoutine(record)) logDecision(record);
  if (withHeader) headers.set(DECISION_HEADER, decisionHeader(record));
}
