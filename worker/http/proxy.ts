/**
 * The proxied request, end to end: verify the cookie and any envelope of a learned value, plan the
 * route, forward with in-request failover, follow the answering origin's `Affinity-Control` (a replay
 * is sent once more, to the origin it names), seal learned values in the response, re-pin if the
 * session moved, log the decision.
 *
 * Steady state (a valid cookie, or a valid envelope, origin up) costs one HMAC verification and no KV
 * or Durable Object call: configuration and health come from this isolate's caches. Without
 * `affinity.learn`, or on a request and a response that carry no learned name, envelopes cost nothing;
 * an answer without `Affinity-Control` costs one header lookup; without `affinity.balanceFactor`, load
 * costs nothing, and with it two counter updates per attempt (placement ranks by load only when it
 * places a session).
 */
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { readCookie } from '../core/affinity-session';
import { verifyAffinityToken } from '../core/affinity-token';
import {
  planReplay,
  planRoute,
  settleDecision,
  settleReplay,
  type Availability,
  type RouteRequest,
} from '../core/route-plan';
import type { RoutingTable } from '../core/routing-table';
import { requestSessionKey } from '../core/session-key';
import { choosePin, sessionKeyOf } from '../core/session-pin';
import type { AppEnv } from '../bindings';
import type { IsolateState } from '../isolate-state';
import { newSessionId } from './affinity-cookie';
import { blameClient, decisionRecord, endPin, finish, issueCookieIfDue, refuse, sealLearned } from './answer';
import { configUnavailable, missingSecret, type UnavailableReason } from './error-responses';
import type { Answered, Exchange, Leg, Session } from './exchange';
import { clientResponseHeaders, originRequestHeaders } from './forward-headers';
import { forwardWithFailover, type ForwardOutcome } from './forwarder';
import { readEnvelopes, restoreLearnedValues } from './learned-request';
import { AFFINITY_CONTROL_HEADER, hearControl, type HeardControl } from './origin-control';
import { prepareBody } from './request-body';

export async function proxyRequest(c: Context<AppEnv>, isolate: IsolateState): Promise<Response> {
  const startedAt = Date.now();
  const { env } = c;
  const { AFFINITY_SECRET: secret, AFFINITY_SECRET_PREVIOUS: previousSecret } = env;
  if (!secret) return missingSecret();
  const background = (task: Promise<unknown>) => c.executionCtx.waitUntil(task);
  const lookup = await isolate.config.lookup(env, startedAt, background);
  if (!lookup.ok) return configUnavailable(lookup);
  const waitingForHealth = isolate.health.ensureFresh(env, lookup.table.healthPlan, startedAt, background);
  if (waitingForHealth) await waitingForHealth;
  // After health: what origins said of themselves arrives with the health snapshot.
  const table = isolate.routingTable(lookup.table);
  const keys = await isolate.keys.get(secret, previousSecret);
  const envelopeKeys = () => isolate.envelopeKeys.get(secret, previousSecret);
  const session = await readSession(c, { keys, envelopeKeys }, table, startedAt);
  const availability = (index: number) => isolate.availability(table.origins[index]!.id, startedAt);
  const route: RouteRequest = {
    origins: table.origins,
    selector: table.selector,
    failover: table.config.affinity.failover,
    attempts: table.config.proxy.attempts,
    sessionKey: session.sessionKey,
    pinned: session.pin.pinned,
    lapsedPin: session.pin.lapsedPin,
    availability,
    placement: placementBound(isolate, table, availability, startedAt),
  };
  const plan = planRoute(route);
  const exchange: Exchange = { c, isolate, table, session, route, plan, availability, startedAt };
  if (plan.candidates.length === 0) {
    // Only strict mode keeps a pin it cannot serve; anything else had no origin to go to.
    return refuse(exchange, plan.decision === 'pinned' ? 'strict-pin-down' : 'no-origin', []);
  }
  return forward(exchange);
}

/** With a balance factor, the load bound of this request's placements, made only if it places a session. */
function placementBound(
  isolate: IsolateState,
  table: RoutingTable,
  availability: (index: number) => Availability,
  now: number,
): RouteRequest['placement'] {
  const factor = table.balanceFactor;
  if (factor === undefined) return undefined;
  return () => isolate.load.bound(table, factor, isolate.traffic.fleetLoad, availability, now);
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
  const toTargets = (indices: readonly number[]) => indices.map((index) => ({ index, origin: table.origins[index]! }));
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
  const inFlight = table.balanceFactor === undefined ? undefined : isolate.load.counter(table);
  const send = (targets: readonly number[], more?: () => number[]) =>
    forwardWithFailover({
      method: request.method,
      pathAndQuery: url.pathname + url.search,
      headers,
      body: prepared.body,
      timeoutMs: (prepared.body.replayable ? proxy.timeout : proxy.uploadTimeout) * 1000,
      targets: toTargets(targets),
      moreTargets: more && (() => toTargets(more())),
      inFlight,
    });
  const leg: Leg = { send, replayable: prepared.body.replayable };
  return settle(exchange, await send(plan.candidates, plan.failover), leg);
}

/** A leg's outcome: the client's failure, a refusal, a replay the answering origin asked for, or the answer. */
async function settle(exchange: Exchange, outcome: ForwardOutcome, leg: Leg): Promise<Response> {
  const { c, isolate, table } = exchange;
  // Only failures of origins' connections are recorded: what the client broke is no origin's doing.
  isolate.recordFailures(outcome.failures, table.config.health, Date.now());
  const { replayOf } = leg;
  const failures = replayOf ? [...replayOf.failures, ...outcome.failures] : outcome.failures;
  const replayed = replayOf && { control: replayOf.followed, replayedFrom: replayOf.originId };
  if (!outcome.ok && outcome.clientFailure) return blameClient(exchange, outcome.clientFailure, failures, replayed);
  if (!outcome.ok) return refuse(exchange, failureReason(exchange, outcome), failures, replayed);
  const answered = replayOf ? { ...outcome, failures } : outcome;
  const text = outcome.response.headers.get(AFFINITY_CONTROL_HEADER);
  if (text === null) return respond(exchange, answered, leg);
  const heard = hearControl(text, {
    table,
    availability: exchange.availability,
    reporter: isolate.controlReporter,
    served: outcome.served,
    replayed: replayOf !== undefined,
    replayable: leg.replayable,
    upgraded: outcome.response.status === 101,
    request: { method: c.req.method, path: c.req.path },
    now: Date.now(),
  });
  if (heard.action?.kind === 'replay') return replay(exchange, answered, heard.action.target, heard, leg);
  return respond(exchange, answered, leg, heard);
}

/**
 * Drops the answer and sends the request to the origin it named; a connection that fails there moves
 * on along the session's own list (never back to the origin that asked), unless failover is off.
 */
async function replay(exchange: Exchange, dropped: Answered, target: number, heard: HeardControl, leg: Leg) {
  await dropped.response.body?.cancel().catch(() => {});
  const { route, table } = exchange;
  const targets = route.failover === 'none' ? [target] : planReplay(route, target, dropped.served);
  const originId = table.origins[dropped.served]!.id;
  const replayOf = { originId, failures: dropped.failures, followed: heard.followed };
  return settle(exchange, await leg.send(targets), { ...leg, replayOf });
}

function failureReason(exchange: Exchange, outcome: Extract<ForwardOutcome, { ok: false }>): UnavailableReason {
  if (outcome.stopped === 'timeout') return 'timeout';
  if (outcome.stopped === 'not-replayable') return 'not-replayable';
  const strictPin = exchange.plan.decision === 'pinned' && exchange.table.config.affinity.failover === 'none';
  return strictPin ? 'strict-pin-down' : 'all-failed';
}

async function respond(exchange: Exchange, outcome: Answered, leg: Leg, heard?: HeardControl): Promise<Response> {
  const { table, plan } = exchange;
  const served = table.origins[outcome.served]!;
  const headers = clientResponseHeaders(outcome.response);
  if (heard) headers.delete(AFFINITY_CONTROL_HEADER);
  const action = heard?.action;
  const handedOver = action?.kind === 'repin' && action.target !== outcome.served;
  const handedOverTo = handedOver ? table.origins[action.target]!.id : undefined;
  const pinnedTo = handedOverTo ?? served.id;
  if (table.learned.length > 0) await sealLearned(exchange, headers, pinnedTo);
  if (action?.kind === 'release') endPin(exchange, headers);
  else await issueCookieIfDue(exchange, headers, pinnedTo);
  const record = decisionRecord(exchange, outcome.response.status, served.id, outcome.failures);
  const { replayOf } = leg;
  Object.assign(record, replayOf ? settleReplay(plan) : settleDecision(plan, outcome.served));
  if (replayOf || heard) {
    const followed = [...(replayOf?.followed ?? []), ...(heard?.followed ?? [])];
    if (followed.length > 0) record.control = followed;
    if (replayOf) record.replayedFrom = replayOf.originId;
    if (handedOverTo !== undefined) record.handedOverTo = handedOverTo;
  }
  finish(exchange, record, headers);
  const { status, statusText, body, webSocket } = outcome.response;
  return new Response(body, { status, statusText, headers, webSocket });
}
