/**
 * The proxied request, in one direction: configuration and health → the session the request presents
 * → the route planned for it → attempts along the plan's candidates (and one replay, when the
 * answering origin asks for it) → what that makes of the session, settled once → the decision
 * record, built once → the response → the record counted and logged → upkeep behind the response.
 * Nothing downstream reaches back to rewrite what upstream decided.
 *
 * Steady state (a valid cookie or envelope, its origin up) makes no KV or Durable Object call
 * (configuration and health come from this isolate's caches), verifies no signature this isolate has
 * verified before, and passes the origin's response on as it is when nothing needs adding to it.
 */
import { loggedPath } from '../core/text/logged-path';
import { isTimeout, originFailed, type AttemptFailure } from '../core/failover/failed-attempt';
import { carriesIdempotencyKey, IDEMPOTENCY_KEY_HEADER } from '../core/failover/replay-rule';
import { planReplay, planRoute, type Availability, type RouteRequest } from '../core/routing/route-plan';
import { settleRoute } from '../core/routing/route-settlement';
import type { RoutingTable } from '../core/routing/routing-table';
import type { IsolateState } from '../isolate-state';
import { respond, workerResponse } from './answer';
import { decisionRecord } from './decision-record';
import { reportDecision } from './decision-report';
import { openRequest, type OpenRequest } from './open-request';
import { configUnavailable, missingSecret, type UnavailableReason } from './error-responses';
import type { Attempts, Exchange, Incoming } from './exchange';
import { prepareOriginHeaders } from './forward-headers';
import { Forwarder, type ForwardOutcome } from './forwarder';
import { restoreLearnedValues } from './learned-request';
import { readOriginControl, type HeardControl } from './control-reading';
import { prepareBody } from './request-body';
import { readSession, type Session } from './session-reading';

export async function proxyRequest(incoming: Incoming, isolate: IsolateState): Promise<Response> {
  const startedAt = Date.now();
  const exchange = await prepareExchange(incoming, isolate, startedAt);
  if (exchange instanceof Response) return exchange;
  const { plan, table } = exchange;
  const open = openRequest(exchange, plan.candidates.first);
  let delivered: Response;
  try {
    delivered = await answer(exchange, open);
  } catch (error) {
    open.close(); // app.ts answers 500; the request is over, and so are its marks
    throw error;
  }
  isolate.upkeep(incoming.env, table, Date.now(), exchange.background);
  return delivered;
}

/** Attempts the request, settles what that makes of the session, and answers, counted. */
async function answer(exchange: Exchange, open: OpenRequest): Promise<Response> {
  const { plan, table } = exchange;
  const attempts: Attempts =
    plan.candidates.first === undefined
      ? // Only strict mode keeps a pin it cannot serve; anything else had no origin to go to.
        { kind: 'refused', reason: plan.decision === 'pinned' ? 'strict-pin-down' : 'no-origin', failures: [] }
      : await attempt(exchange);
  const settlement = settleRoute(plan, {
    answeredBy: attempts.kind === 'answered' ? attempts.answeredBy : undefined,
    failures: attempts.failures,
    replayOf: attempts.replay?.from,
    next: attempts.kind === 'refused' ? attempts.next : undefined,
    control: attempts.control?.action?.kind === 'replay' ? undefined : attempts.control?.action,
  });
  const own = attempts.kind === 'answered' ? undefined : workerResponse(attempts, table.config.health.interval);
  const status = own?.status ?? (attempts as Extract<Attempts, { kind: 'answered' }>).response.status;
  const record = decisionRecord(exchange, attempts, settlement, status);
  const response = await respond(exchange, attempts, settlement, record, own);
  const answeredBy = attempts.kind === 'answered' ? attempts.answeredBy : undefined;
  return open.deliver(response, answeredBy, (at) => reportDecision(exchange, record, at));
}

/** Configuration, health, the session and its route; or the worker's own answer when it cannot proxy. */
async function prepareExchange(
  incoming: Incoming,
  isolate: IsolateState,
  startedAt: number,
): Promise<Exchange | Response> {
  const { request, env, ctx } = incoming;
  const { AFFINITY_SECRET: secret, AFFINITY_SECRET_PREVIOUS: previousSecret } = env;
  if (!secret) return missingSecret();
  const background = (task: Promise<unknown>) => ctx.waitUntil(task);
  isolate.locate(() => request.cf?.colo);
  const lookup = await isolate.config.lookup(env, startedAt, background);
  if (!lookup.ok) return configUnavailable(lookup);
  const location = () => isolate.locationObject(env);
  const waitingForHealth = isolate.health.ensureFresh(location, lookup.table.healthPlan, startedAt, background);
  if (waitingForHealth) await waitingForHealth;
  // After health: what origins said of themselves arrives with the health snapshot.
  const table = isolate.routingTable(lookup.table);
  const keys = await isolate.keys.get(secret, previousSecret);
  const envelopeKeys = () => isolate.envelopeKeys.get(secret, previousSecret);
  const stateKeys = () => isolate.stateKeys.get(secret, previousSecret);
  const session = await readSession({ request, table, keys, envelopeKeys, stateKeys, now: startedAt });
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
    rebalance: rebalancing(isolate, table, session, request.method, startedAt),
  };
  const plan = planRoute(route);
  return { incoming, url: new URL(request.url), isolate, table, session, route, plan, startedAt, background };
}

/** With `affinity.rebalance`, whether this session may move to its new first choice: only one that carries its state. */
function rebalancing(
  isolate: IsolateState,
  table: RoutingTable,
  session: Session,
  method: string,
  now: number,
): RouteRequest['rebalance'] {
  const { rebalance } = table.config.affinity;
  if (!rebalance || !session.state?.carried) return undefined;
  // An origin put the session where it is (`repin`): not the hash's to take back.
  if (session.reading.claims?.handedOver) return undefined;
  // A voluntary move only where a failed first choice can always fall back to the pin: a GET or HEAD,
  // which has no body and may be sent again whatever broke.
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  return () => isolate.rebalanceRate(rebalance.rate).take(now);
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

/** Sends the request along the plan's candidates; follows the answering origin's replay, once. */
async function attempt(exchange: Exchange): Promise<Attempts> {
  const { incoming, table, isolate, plan, route } = exchange;
  isolate.retryBudget.countRequest(exchange.startedAt);
  const { request } = incoming;
  const { proxy } = table.config;
  const prepared = await prepareBody(request, proxy.bodyTimeout * 1000);
  if (!prepared.ok) return { kind: 'client', failure: prepared.failure, failures: [] };
  const forwarder = new Forwarder({
    method: request.method,
    pathAndQuery: exchange.url.pathname + exchange.url.search,
    clientHeaders: request.headers,
    prepareHeaders: (headers) => prepareForOrigins(exchange, headers, prepared.body.none),
    body: prepared.body,
    timeoutMs: (prepared.body.replayable ? proxy.timeout : proxy.uploadTimeout) * 1000,
    origins: table.origins,
    replay: { policy: proxy.replay, keyed: carriesIdempotencyKey(request.headers.get(IDEMPOTENCY_KEY_HEADER)) },
    budget: isolate.retryBudget,
    inFlight: table.balanceFactor === undefined ? undefined : isolate.load.counter(table),
    headersFor: exchange.session.state?.carried
      ? (index) => exchange.session.state!.handoffFor(table.origins[index]!.id)
      : undefined,
  });
  const replayable = prepared.body.replayable;
  const first = await forwarder.forward(plan.candidates);
  // Failed attempts are recorded before the answer is heard: a directive naming an origin that just
  // failed here, or a replay's spares, must see it ejected.
  recordFailure(exchange, first.failures);
  const heard = hear(exchange, first, { replayed: false, replayable });
  if (!first.ok || heard?.action?.kind !== 'replay') return attempted(exchange, first, first.failures, heard);
  await first.response.body?.cancel().catch(() => {});
  const second = await forwarder.forward(planReplay(route, heard.action.target, first.answeredBy));
  // Counted only when it is the request's first failure (the first leg may have had its own).
  if (first.failures.length === 0) recordFailure(exchange, second.failures);
  const heardAgain = hear(exchange, second, { replayed: true, replayable });
  const control = { action: heardAgain?.action, followed: [...heard.followed, ...(heardAgain?.followed ?? [])] };
  const failures = [...first.failures, ...second.failures];
  return attempted(exchange, second, failures, control, { from: first.answeredBy });
}

/**
 * Only the request's first failed attempt counts against an origin, and only when that origin is gone
 * or its connection broke: a request that breaks every origin it reaches (a "query of death") must not
 * eject them all and move everybody else's sessions; a slow answer says little (failed-attempt.ts).
 */
function recordFailure(exchange: Exchange, failures: readonly AttemptFailure[]): void {
  const [first] = failures;
  if (!first || !originFailed(first)) return;
  exchange.isolate.recordFailure(first, exchange.table.config.health, Date.now());
}

/** The client's headers, edited in place for the origins (forward-headers.ts), learned values restored. */
function prepareForOrigins(exchange: Exchange, headers: Headers, bodiless: boolean): void {
  const { incoming, table, session, url } = exchange;
  prepareOriginHeaders(headers, {
    strippedCookies: table.ownCookies,
    clientIp: incoming.request.headers.get('cf-connecting-ip'),
    url,
  });
  // A GET or HEAD whose declared body was empty goes out as the ordinary request it is.
  if (bodiless && headers.has('content-length')) headers.delete('content-length');
  if (session.envelope.unsealed.length > 0) restoreLearnedValues(headers, session.envelope.unsealed);
}

/** What the answering origin's `Affinity-Control` makes the proxy do; undefined when it sent none. */
function hear(
  exchange: Exchange,
  outcome: ForwardOutcome,
  leg: { replayed: boolean; replayable: boolean },
): HeardControl | undefined {
  if (!outcome.ok) return undefined;
  const { table, isolate, incoming, route } = exchange;
  return readOriginControl(outcome.response, {
    table,
    availability: route.availability,
    reporter: isolate.controlReporter,
    served: outcome.answeredBy,
    ...leg,
    upgraded: outcome.response.status === 101,
    request: { method: incoming.request.method, path: loggedPath(exchange.url.pathname) },
    // When the answer arrived: an origin's later word must win over an earlier one (drain, ready).
    now: Date.now(),
  });
}

/**
 * The last leg's outcome as the proxy's attempts, with every failed attempt of the request (a replay's
 * after the first leg's).
 */
function attempted(
  exchange: Exchange,
  last: ForwardOutcome,
  failures: AttemptFailure[],
  control: HeardControl | undefined,
  replay?: { from: number },
): Attempts {
  if (last.ok)
    return { kind: 'answered', response: last.response, answeredBy: last.answeredBy, failures, control, replay };
  if (last.clientFailure) return { kind: 'client', failure: last.clientFailure, failures, control, replay };
  return {
    kind: 'refused',
    reason: unavailableReason(exchange, last, replay !== undefined),
    stopped: last.stopped,
    next: last.next,
    failures,
    control,
    replay,
  };
}

/** Why no origin answered, judged by the last leg alone (a replay's, when the request was replayed). */
function unavailableReason(
  exchange: Exchange,
  last: Extract<ForwardOutcome, { ok: false }>,
  replayed: boolean,
): UnavailableReason {
  // A strict pin whose own origin cannot serve: 503 rather than a move. After a replay the session's
  // origin answered; only the origin it named (and its spares) failed.
  if (!replayed && exchange.plan.decision === 'pinned' && exchange.route.failover === 'none') return 'strict-pin-down';
  // The last origin tried accepted the request and did not answer in time: 504, said as such.
  const failure = last.failures.at(-1);
  if (failure && isTimeout(failure.reason)) return 'timeout';
  switch (last.stopped) {
    case 'not-replayable':
    case 'not-idempotent':
    case 'budget':
    case 'resent-once':
      return last.stopped;
    default:
      return 'all-failed';
  }
}
