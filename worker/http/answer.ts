/**
 * The response the client gets: the origin's own, with what the worker adds — the session's cookie
 * (fresh when due, deleted on the origin's `release`), values the origin issued under learned names
 * sealed in envelopes, the origin's `Affinity-Control` taken out, the debugging header when asked
 * for — or the worker's own answer when no origin answered. When there is nothing to add, the origin's
 * response is passed on as it is, headers uncopied: the steady state's response costs nothing here.
 */
import { signAffinityToken, type AffinityClaims } from '../core/session/affinity-token';
import { MAX_LEARNED_VALUE_BYTES } from '../core/session/learned-envelope';
import type { Settlement } from '../core/routing/route-settlement';
import { issuesAffinityCookie } from '../core/session/session-pin';
import { logEvent } from '../log';
import { affinityCookieHeader, clearedAffinityCookieHeader } from './affinity-cookie';
import type { DecisionRecord } from '../core/routing/decision-record';
import { DECISION_HEADER, decisionHeader } from './decision-log';
import { clientFault, originUnavailable } from './error-responses';
import type { Attempts, Exchange } from './exchange';
import { clientResponseHeaders, passesAsIs } from './forward-headers';
import { carriesLearnedValues, sealLearnedValues } from './learned-response';
import { AFFINITY_CONTROL_HEADER } from './control-reading';
import { keepOutOfSharedCaches } from './private-response';
import { settleState, STATE_HEADER } from './session-state';

type Answered = Extract<Attempts, { kind: 'answered' }>;

/** The worker's own answer when no origin answered: its refusal, or the client's own failure. */
export function workerResponse(attempts: Exclude<Attempts, Answered>, retryAfterSeconds: number): Response {
  return attempts.kind === 'client'
    ? clientFault(attempts.failure)
    : originUnavailable(attempts.reason, retryAfterSeconds);
}

export async function respond(
  exchange: Exchange,
  attempts: Attempts,
  settlement: Settlement,
  record: DecisionRecord,
  /** The worker's own answer (`workerResponse`), when no origin answered. */
  own: Response | undefined,
): Promise<Response> {
  const withHeader = exchange.table.config.affinity.decisionHeader;
  if (attempts.kind !== 'answered') {
    if (!own) throw new Error('an unanswered request needs the worker’s own answer');
    if (withHeader) own.headers.set(DECISION_HEADER, decisionHeader(record));
    // The session's origin is gone or broke, and this request could not be sent on: its cookie names
    // the next origin, so that the client's retry goes there (its state unchanged, handed over then).
    if (settlement.pinnedTo !== undefined) {
      const tag = exchange.session.state?.sources.tag;
      const cookie = await signedCookie(exchange, exchange.table.origins[settlement.pinnedTo]!.id, tag);
      own.headers.append('set-cookie', cookie);
    }
    return own;
  }
  const answered = attempts;
  const { response } = answered;
  const { state } = exchange.session;
  // Taken out of the answer whether handoff is on or not: a state never reaches the client in clear.
  const stating = response.headers.has(STATE_HEADER);
  const sealing = carriesLearnedValues(response.headers, exchange.table.learned);
  const released = settlement.released === true;
  const pinnedId = pinnedOriginId(exchange, answered, settlement);
  const due = !released && cookieDue(exchange, pinnedId);
  const settles = stating || state?.unsettled || (released && state?.sources.present) || (due && state?.carried);
  if (state === undefined || !settles) {
    const cookie = await sessionCookie(exchange, settlement, pinnedId, state?.sources.tag, due);
    const untouched =
      !cookie &&
      !stating &&
      !sealing &&
      !answered.control &&
      !withHeader &&
      passesAsIs(response.headers, exchange.table.ownCookies);
    if (untouched) return response;
    return rebuilt(exchange, answered, record, { cookies: cookie ? [cookie] : [], sealing });
  }
  const headers = clientHeaders(exchange, answered);
  const outcome = await settleState(state, {
    originId: exchange.table.origins[answered.answeredBy]!.id,
    headers,
    released,
    refresh: due,
    requestUrl: exchange.incoming.request.url,
  });
  const cookie = await sessionCookie(exchange, settlement, pinnedId, outcome.tag, due || outcome.tagChanged);
  const cookies = [cookie, outcome.setCookie].filter((c): c is string => c !== undefined);
  return rebuilt(exchange, answered, record, { cookies, sealing, headers });
}

/** The origin's response headers for the client (forward-headers.ts), an origin's try at the worker's cookies logged. */
function clientHeaders(exchange: Exchange, answered: Answered): Headers {
  const dropped: string[] = [];
  const headers = clientResponseHeaders(answered.response, exchange.table.ownCookies, dropped);
  if (dropped.length > 0) warnOwnCookieSet(exchange, answered, dropped);
  return headers;
}

/** The origin's response with what the worker adds: its cookies, sealed values, the debugging header. */
async function rebuilt(
  exchange: Exchange,
  answered: Answered,
  record: DecisionRecord,
  adding: { cookies: string[]; sealing: boolean; headers?: Headers },
): Promise<Response> {
  const { response } = answered;
  const headers = adding.headers ?? clientHeaders(exchange, answered);
  if (headers.has(STATE_HEADER)) headers.delete(STATE_HEADER);
  if (answered.control) headers.delete(AFFINITY_CONTROL_HEADER);
  // Sealed for the origin that sent the value, whatever it says of the session: an origin cannot have
  // a value sealed in another origin's name.
  if (adding.sealing) await sealLearned(exchange, headers, exchange.table.origins[answered.answeredBy]!.id);
  for (const cookie of adding.cookies) headers.append('set-cookie', cookie);
  if (adding.cookies.length > 0) keepOutOfSharedCaches(headers);
  if (exchange.table.config.affinity.decisionHeader) headers.set(DECISION_HEADER, decisionHeader(record));
  const { status, statusText, body, webSocket } = response;
  return new Response(body, { status, statusText, headers, webSocket });
}

/** The origin the session is pinned to after this answer (route-settlement.ts says which). */
function pinnedOriginId(exchange: Exchange, answered: Answered, settlement: Settlement): string {
  return exchange.table.origins[settlement.pinnedTo ?? answered.answeredBy]!.id;
}

/** An origin tried to set one of the worker's cookies: dropped, and said so, since it is a misconfiguration or worse. */
function warnOwnCookieSet(exchange: Exchange, answered: Answered, cookies: string[]): void {
  const origin = exchange.table.origins[answered.answeredBy]!.id;
  logEvent('warn', 'origin.own-cookie-dropped', { origin, cookies });
}

/**
 * The `Set-Cookie` of the session's cookie this answer carries, if any: deleted on `release`, fresh
 * when `reissue` (it is due, or the session's state tag changed), pinning the session to `originId`.
 */
async function sessionCookie(
  exchange: Exchange,
  settlement: Settlement,
  originId: string,
  stateTag: string | undefined,
  reissue: boolean,
) {
  const { incoming, table } = exchange;
  if (settlement.released) return clearedAffinityCookieHeader(table.config.affinity, incoming.request.url);
  if (!reissue) return;
  return signedCookie(exchange, originId, stateTag, isHandedOver(exchange, settlement, originId));
}

/**
 * Whether the session's pin is where an origin handed it (`repin`): just now, or before, by a token
 * that names the same pin. Any other move the worker makes clears it.
 */
function isHandedOver(exchange: Exchange, settlement: Settlement, originId: string): boolean {
  if (settlement.handedOverTo !== undefined) return true;
  const claims = exchange.session.reading.claims;
  return claims?.handedOver === true && claims.originId === originId;
}

/** Whether the session's cookie, pinning it to `originId`, is due again (core/session/session-pin.ts says when). */
function cookieDue(exchange: Exchange, originId: string): boolean {
  const { table, session, startedAt } = exchange;
  return issuesAffinityCookie(session.reading, session.envelope, {
    originId,
    now: startedAt,
    ttl: table.config.affinity.ttl,
  });
}

/** The `Set-Cookie` of a fresh token pinning the session to `originId`, naming its state by `stateTag`. */
async function signedCookie(
  exchange: Exchange,
  originId: string,
  stateTag: string | undefined,
  handedOver = false,
): Promise<string> {
  const { incoming, table, session, startedAt } = exchange;
  const { affinity } = table.config;
  const claims: AffinityClaims = {
    originId,
    sessionId: session.sessionId,
    expiresAt: Math.floor(startedAt / 1000) + affinity.ttl,
  };
  if (affinity.maxAge !== undefined) claims.startedAt = session.startedAt;
  if (stateTag !== undefined) claims.stateTag = stateTag;
  if (handedOver) claims.handedOver = true;
  const token = await signAffinityToken(claims, session.keys.current);
  return affinityCookieHeader(token, affinity, incoming.request.url);
}

/** Values the origin issued under learned names, sealed in envelopes that name the session's origin. */
async function sealLearned(exchange: Exchange, headers: Headers, originId: string): Promise<void> {
  const { table, session } = exchange;
  const signer = async () => (await session.envelopeKeys()).current;
  const { unsealed } = session.envelope;
  const summary = await sealLearnedValues(headers, { names: table.learned, originId, signer, unsealed });
  for (const { learned, bytes } of summary.tooLong) {
    logEvent('warn', 'learn.value-too-long', { learned, bytes, limit: MAX_LEARNED_VALUE_BYTES, origin: originId });
  }
}
