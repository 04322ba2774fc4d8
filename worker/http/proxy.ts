/**
 * The proxied request, end to end: verify the cookie, plan the route, forward with in-request
 * failover, re-pin if the session moved, log the decision.
 *
 * Steady state (a valid cookie, origin up) costs one HMAC verification and no KV or Durable Object
 * call: configuration and health come from this isolate's caches.
 */
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { needsFreshCookie, readCookie, type CookieReading } from '../core/affinity-session';
import { signAffinityToken, verifyAffinityToken, type SigningKeys } from '../core/affinity-token';
import { planRoute, settleDecision, type RoutePlan } from '../core/route-plan';
import type { RoutingTable } from '../core/routing-table';
import { requestSessionKey } from '../core/session-key';
import type { AppEnv } from '../bindings';
import type { IsolateState } from '../isolate-state';
import { affinityCookieHeader, newSessionId } from './affinity-cookie';
import { DECISION_HEADER, decisionHeader, isRoutine, logDecision, type DecisionRecord } from './decision-log';
import type { ClientFailure } from './client-failure';
import {
  clientFault,
  configUnavailable,
  missingSecret,
  originUnavailable,
  type UnavailableReason,
} from './error-responses';
import { clientResponseHeaders, originRequestHeaders } from './forward-headers';
import { forwardWithFailover, type ForwardOutcome } from './forwarder';
import { keepOutOfSharedCaches } from './private-response';
import { prepareBody } from './request-body';

interface Session {
  keys: SigningKeys;
  reading: CookieReading;
  sessionId: string;
  sessionKey: string;
}

interface Exchange {
  c: Context<AppEnv>;
  isolate: IsolateState;
  table: RoutingTable;
  session: Session;
  plan: RoutePlan;
  startedAt: number;
}

export async function proxyRequest(c: Context<AppEnv>, isolate: IsolateState): Promise<Response> {
  const startedAt = Date.now();
  const { env } = c;
  if (!env.AFFINITY_SECRET) return missingSecret();
  const background = (task: Promise<unknown>) => c.executionCtx.waitUntil(task);
  const lookup = await isolate.config.lookup(env, startedAt, background);
  if (!lookup.ok) return configUnavailable(lookup);
  const { table } = lookup;
  const waitingForHealth = isolate.health.ensureFresh(env, table.healthPlan, startedAt, background);
  if (waitingForHealth) await waitingForHealth;
  const keys = await isolate.keys.get(env.AFFINITY_SECRET, env.AFFINITY_SECRET_PREVIOUS);
  const session = await readSession(c, keys, table, startedAt);
  const plan = planRoute({
    origins: table.origins,
    selector: table.selector,
    failover: table.config.affinity.failover,
    attempts: table.config.proxy.attempts,
    sessionKey: session.sessionKey,
    pinned: session.reading.pinned,
    lapsedPin: session.reading.lapsedPin,
    availability: (index) => isolate.availability(table.origins[index]!.id, startedAt),
  });
  const exchange: Exchange = { c, isolate, table, session, plan, startedAt };
  if (plan.candidates.length === 0) {
    // Only strict mode keeps a pin it cannot serve; anything else had no origin to go to.
    return refuse(exchange, plan.decision === 'pinned' ? 'strict-pin-down' : 'no-origin', []);
  }
  return forward(exchange);
}

async function readSession(c: Context<AppEnv>, keys: SigningKeys, table: RoutingTable, now: number): Promise<Session> {
  const token = getCookie(c, table.config.affinity.cookie);
  const verdict = token === undefined ? undefined : await verifyAffinityToken(token, keys, Math.floor(now / 1000));
  const reading = readCookie(verdict, table.indexOf);
  const sessionId = reading.claims?.sessionId ?? newSessionId();
  const requestKey = requestSessionKey(table.sessionKey, {
    clientIp: () => c.req.header('cf-connecting-ip'),
    header: (name) => c.req.header(name),
    cookie: (name) => getCookie(c, name),
  });
  return { keys, reading, sessionId, sessionKey: requestKey ?? sessionId };
}

async function forward(exchange: Exchange): Promise<Response> {
  const { c, table, plan, isolate } = exchange;
  const { proxy } = table.config;
  const toTarget = (index: number) => ({ index, origin: table.origins[index]! });
  const request = c.req.raw;
  const prepared = await prepareBody(request, proxy.bodyTimeout * 1000);
  if (!prepared.ok) return blameClient(exchange, prepared.failure, []);
  const url = new URL(request.url);
  const headers = originRequestHeaders(request, url, {
    strippedCookies: table.ownCookies,
    clientIp: c.req.header('cf-connecting-ip') ?? null,
  });
  // A GET or HEAD whose declared body was empty goes out as the ordinary request it is.
  if (prepared.body.none) headers.delete('content-length');
  const outcome = await forwardWithFailover({
    method: request.method,
    pathAndQuery: url.pathname + url.search,
    headers,
    body: prepared.body,
    timeoutMs: (prepared.body.replayable ? proxy.timeout : proxy.uploadTimeout) * 1000,
    targets: plan.candidates.map(toTarget),
    moreTargets: plan.failover && (() => plan.failover!().map(toTarget)),
  });
  // Only failures of origins' connections are recorded: what the client broke is no origin's doing.
  isolate.recordFailures(outcome.failures, table.config.health, Date.now());
  if (!outcome.ok && outcome.clientFailure) return blameClient(exchange, outcome.clientFailure, outcome.failures);
  if (!outcome.ok) return refuse(exchange, failureReason(exchange, outcome), outcome.failures);
  return respond(exchange, outcome);
}

function failureReason(exchange: Exchange, outcome: Extract<ForwardOutcome, { ok: false }>): UnavailableReason {
  if (outcome.stopped === 'timeout') return 'timeout';
  if (outcome.stopped === 'not-replayable') return 'not-replayable';
  const strictPin = exchange.plan.decision === 'pinned' && exchange.table.config.affinity.failover === 'none';
  return strictPin ? 'strict-pin-down' : 'all-failed';
}

async function respond(exchange: Exchange, outcome: Extract<ForwardOutcome, { ok: true }>): Promise<Response> {
  const { c, table, session, plan } = exchange;
  const { affinity } = table.config;
  const served = table.origins[outcome.served]!;
  const nowSeconds = Math.floor(exchange.startedAt / 1000);
  const headers = clientResponseHeaders(outcome.response);
  if (needsFreshCookie(session.reading, served.id, nowSeconds, affinity.ttl)) {
    const claims = { originId: served.id, sessionId: session.sessionId, expiresAt: nowSeconds + affinity.ttl };
    const token = await signAffinityToken(claims, session.keys.current);
    headers.append('set-cookie', affinityCookieHeader(token, affinity, c.req.url));
    keepOutOfSharedCaches(headers);
  }
  const record = decisionRecord(exchange, outcome.response.status, served.id, outcome.failures);
  Object.assign(record, settleDecision(plan, outcome.served));
  finish(exchange, record, headers);
  const { status, statusText, body, webSocket } = outcome.response;
  return new Response(body, { status, statusText, headers, webSocket });
}

function refuse(exchange: Exchange, reason: UnavailableReason, failures: DecisionRecord['failures']): Response {
  const response = originUnavailable(reason, exchange.table.config.health.interval);
  const record = decisionRecord(exchange, response.status, null, failures);
  finish(exchange, record, response.headers);
  return response;
}

/** The client's problem: answered and logged as such; no origin, health record or pin changes. */
function blameClient(exchange: Exchange, failure: ClientFailure, failures: DecisionRecord['failures']): Response {
  const response = clientFault(failure);
  const record = { ...decisionRecord(exchange, response.status, null, failures), clientFailure: failure.kind };
  finish(exchange, record, response.headers);
  return response;
}

function decisionRecord(
  exchange: Exchange,
  status: number,
  origin: string | null,
  failures: DecisionRecord['failures'],
): DecisionRecord {
  const { c, plan, session } = exchange;
  return {
    method: c.req.method,
    path: c.req.path,
    origin,
    decision: plan.decision,
    reason: plan.reason,
    cookie: session.reading.outcome,
    status,
    durationMs: Date.now() - exchange.startedAt,
    attempts: failures.length + (origin ? 1 : 0),
    failOpen: plan.failOpen,
    failures,
  };
}

function finish(exchange: Exchange, record: DecisionRecord, headers: Headers): void {
  const { c, isolate, table } = exchange;
  isolate.countRequest(
    c.env,
    record,
    { sessionId: exchange.session.sessionId, location: c.req.raw.cf?.colo as string | undefined },
    exchange.startedAt,
  );
  isolate.upkeep(c.env, table, Date.now(), (task) => c.executionCtx.waitUntil(task));
  const { decisionLog, decisionHeader: withHeader } = table.config.affinity;
  if (decisionLog === 'all' || !isRoutine(record)) logDecision(record);
  if (withHeader) headers.set(DECISION_HEADER, decisionHeader(record));
}
