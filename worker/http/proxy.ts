/**
 * The proxied request, end to end: verify the cookie and any envelope of a learned value, plan the
 * route, forward with in-request failover, seal learned values in the response, re-pin if the session
 * moved, log the decision.
 *
 * Steady state (a valid cookie, or a valid envelope, origin up) costs one HMAC verification and no KV
 * or Durable Object call: configuration and health come from this isolate's caches. Without
 * `affinity.learn`, or on a request and a response that carry no learned name, envelopes cost nothing.
 */
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { readCookie, type CookieReading } from '../core/affinity-session';
import { signAffinityToken, verifyAffinityToken, type SigningKeys } from '../core/affinity-token';
import type { EnvelopeReading } from '../core/envelope-reading';
import { MAX_LEARNED_VALUE_BYTES } from '../core/learned-envelope';
import { planRoute, settleDecision, type RoutePlan } from '../core/route-plan';
import type { RoutingTable } from '../core/routing-table';
import { requestSessionKey } from '../core/session-key';
import { choosePin, issuesAffinityCookie, sessionKeyOf, type SessionPin } from '../core/session-pin';
import type { AppEnv } from '../bindings';
import type { IsolateState } from '../isolate-state';
import { logEvent } from '../log';
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
import { readEnvelopes, restoreLearnedValues } from './learned-request';
import { sealLearnedValues } from './learned-response';
import { keepOutOfSharedCaches } from './private-response';
import { prepareBody } from './request-body';

interface Session {
  keys: SigningKeys;
  /** The envelope keys of learned values, derived on first use. */
  envelopeKeys: () => Promise<SigningKeys>;
  reading: CookieReading;
  envelope: EnvelopeReading;
  pin: SessionPin;
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
  const { AFFINITY_SECRET: secret, AFFINITY_SECRET_PREVIOUS: previousSecret } = env;
  if (!secret) return missingSecret();
  const background = (task: Promise<unknown>) => c.executionCtx.waitUntil(task);
  const lookup = await isolate.config.lookup(env, startedAt, background);
  if (!lookup.ok) return configUnavailable(lookup);
  const { table } = lookup;
  const waitingForHealth = isolate.health.ensureFresh(env, table.healthPlan, startedAt, background);
  if (waitingForHealth) await waitingForHealth;
  const keys = await isolate.keys.get(secret, previousSecret);
  const envelopeKeys = () => isolate.envelopeKeys.get(secret, previousSecret);
  const session = await readSession(c, { keys, envelopeKeys }, table, startedAt);
  const plan = planRoute({
    origins: table.origins,
    selector: table.selector,
    failover: table.config.affinity.failover,
    attempts: table.config.proxy.attempts,
    sessionKey: session.sessionKey,
    pinned: session.pin.pinned,
    lapsedPin: session.pin.lapsedPin,
    availability: (index) => isolate.availability(table.origins[index]!.id, startedAt),
  });
  const exchange: Exchange = { c, isolate, table, session, plan, startedAt };
  if (plan.candidates.length === 0) {
    // Only strict mode keeps a pin it cannot serve; anything else had no origin to go to.
    return refuse(exchange, plan.decision === 'pinned' ? 'strict-pin-down' : 'no-origin', []);
  }
  return forward(exchange);
}

async function readSession(
  c: Context<AppEnv>,
  { keys, envelopeKeys }: Pick<Session, 'keys' | 'envelopeKeys'>,
  table: RoutingTable,
  now: number,
): Promise<Session> {
  const token = getCookie(c, table.config.affinity.cookie);
  const verdict = token === undefined ? undefined : await verifyAffinityToken(token, keys, Math.floor(now / 1000));
  const reading = readCookie(verdict, table.indexOf);
  const { indexOf, learned: names } = table;
  const envelope = await readEnvelopes({ headers: c.req.raw.headers, names, indexOf, keys: envelopeKeys });
  const sessionId = reading.claims?.sessionId ?? newSessionId();
  const requestKey = requestSessionKey(table.sessionKey, {
    clientIp: () => c.req.header('cf-connecting-ip'),
    header: (name) => c.req.header(name),
    cookie: (name) => getCookie(c, name),
  });
  const sessionKey = sessionKeyOf(envelope, requestKey, sessionId);
  return { keys, envelopeKeys, reading, envelope, pin: choosePin(reading, envelope), sessionId, sessionKey };
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
  restoreLearnedValues(headers, exchange.session.envelope.unsealed);
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
  const { table, plan } = exchange;
  const served = table.origins[outcome.served]!;
  const headers = clientResponseHeaders(outcome.response);
  if (table.learned.length > 0) await sealLearned(exchange, headers, served.id);
  await issueCookieIfDue(exchange, headers, served.id);
  const record = decisionRecord(exchange, outcome.response.status, served.id, outcome.failures);
  Object.assign(record, settleDecision(plan, outcome.served));
  finish(exchange, record, headers);
  const { status, statusText, body, webSocket } = outcome.response;
  return new Response(body, { status, statusText, headers, webSocket });
}

/** Values the serving origin issued under learned names, sealed in envelopes that name it. */
async function sealLearned(exchange: Exchange, headers: Headers, originId: string): Promise<void> {
  const { table, session } = exchange;
  const signer = async () => (await session.envelopeKeys()).current;
  const { unsealed } = session.envelope;
  const summary = await sealLearnedValues(headers, { names: table.learned, originId, signer, unsealed });
  for (const { learned, bytes } of summary.tooLong) {
    logEvent('warn', 'learn.value-too-long', { learned, bytes, limit: MAX_LEARNED_VALUE_BYTES, origin: originId });
  }
}

async function issueCookieIfDue(exchange: Exchange, headers: Headers, originId: string): Promise<void> {
  const { c, table, session } = exchange;
  const { affinity } = table.config;
  const nowSeconds = Math.floor(exchange.startedAt / 1000);
  if (!issuesAffinityCookie(session.reading, session.envelope, { originId, nowSeconds, ttl: affinity.ttl })) return;
  const claims = { originId, sessionId: session.sessionId, expiresAt: nowSeconds + affinity.ttl };
  const token = await signAffinityToken(claims, session.keys.current);
  headers.append('set-cookie', affinityCookieHeader(token, affinity, c.req.url));
  keepOutOfSharedCaches(headers);
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
