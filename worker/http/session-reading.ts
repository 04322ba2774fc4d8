/**
 * What a request says of its session: the affinity cookie and any envelope of a learned value,
 * verified, and the key the consistent hash ranks its origins by. A cookie this isolate has verified
 * before is not verified again (verified-tokens.ts): its expiry is still judged on every request.
 */
import { parse } from 'hono/utils/cookie';
import { interpretCookie, outlivedMaxAge, type CookieReading } from '../core/session/affinity-session';
import { stateCookieName } from '../core/config/config-schema';
import { readStateCookie, type StateKey } from '../core/session/sealed-state';
import {
  verifyAffinityToken,
  type AffinityClaims,
  type SigningKeys,
  type TokenVerdict,
} from '../core/session/affinity-token';
import { NO_ENVELOPE, type EnvelopeReading } from '../core/session/envelope-reading';
import type { RoutingTable } from '../core/routing/routing-table';
import { requestSessionKey } from '../core/routing/session-key';
import { choosePin, sessionKeyOf, type SessionPin } from '../core/session/session-pin';
import { VerifiedTokens } from '../core/session/verified-tokens';
import { newSessionId } from './affinity-cookie';
import { readEnvelopes } from './learned-request';
import { SessionState } from './session-state';
import type { KeyPair } from '../signing-keys';

export interface Session {
  keys: SigningKeys;
  /** The envelope keys of learned values, derived on first use. */
  envelopeKeys: () => Promise<SigningKeys>;
  reading: CookieReading;
  envelope: EnvelopeReading;
  pin: SessionPin;
  /** The affinity session's id: the cookie's, or a new one. */
  sessionId: string;
  /** What the consistent hash ranks origins by. */
  sessionKey: string;
  /**
   * What the fleet view counts this session by: the session key of a request that names its session
   * (an authentic envelope or cookie, or the request key `affinity.key` reads), else nothing. A fresh
   * id is drawn for every request without a cookie, so a client that keeps none (curl, a probe, a
   * crawler) would count as a new session each time; a new browser session counts from its second
   * request, the first to carry its cookie.
   */
  countedKey: string | undefined;
  /** When the session was first pinned (Unix seconds): what `affinity.maxAge` counts from. */
  startedAt: number;
  /** The session's sealed state, with `affinity.handoff` on. */
  state?: SessionState;
}

export interface SessionSources {
  request: Request;
  table: RoutingTable;
  keys: SigningKeys;
  envelopeKeys: () => Promise<SigningKeys>;
  stateKeys: () => Promise<KeyPair<StateKey>>;
  now: number;
}

export async function readSession(sources: SessionSources): Promise<Session> {
  const { request, table, keys, envelopeKeys, now } = sources;
  const { affinity } = table.config;
  const { headers } = request;
  const nowSeconds = Math.floor(now / 1000);
  const cookies = cookiesOf(headers);
  const token = cookies?.[affinity.cookie];
  const verdict = token === undefined ? undefined : await verifyCookie(token, keys, nowSeconds);
  // A session past its absolute lifetime starts over: a new id, hashed anew, its state left behind.
  const aged = verdict?.status === 'valid' && outlivedMaxAge(verdict.claims, affinity, nowSeconds);
  const reading: CookieReading = aged
    ? { outcome: 'expired', lapsedPin: 'expired' }
    : interpretCookie(verdict, table.indexOf);
  const envelope =
    table.learned.length === 0
      ? NO_ENVELOPE
      : await readEnvelopes({ headers, names: table.learned, indexOf: table.indexOf, keys: envelopeKeys });
  const sessionId = reading.claims?.sessionId ?? newSessionId();
  const requestKey = requestSessionKey(table.sessionKey, {
    clientIp: () => headers.get('cf-connecting-ip'),
    header: (name) => headers.get(name),
    cookie: (name) => cookies?.[name],
  });
  const sessionKey = sessionKeyOf(envelope, requestKey, sessionId);
  const countedKey =
    reading.claims || envelope.sessionKey !== undefined || requestKey !== undefined ? sessionKey : undefined;
  const pin = choosePin(reading, envelope);
  const claims = reading.claims;
  const startedAt = claims ? (claims.startedAt ?? claims.expiresAt - affinity.ttl) : nowSeconds;
  const stateText = affinity.handoff ? cookies?.[stateCookieName(affinity.cookie)] : undefined;
  const state = affinity.handoff
    ? new SessionState({
        cookie: stateText === undefined ? undefined : readStateCookie(stateText),
        present: stateText !== undefined,
        sessionId,
        tag: reading.outcome === 'valid' || reading.outcome === 'previous-key' ? claims?.stateTag : undefined,
        affinity,
        nowSeconds,
        keys: sources.stateKeys,
      })
    : undefined;
  return { keys, envelopeKeys, reading, envelope, pin, sessionId, sessionKey, countedKey, startedAt, state };
}

/** The request's cookies by name (RFC 6265 §5.4, Hono's parser), or undefined without a `Cookie` header. */
function cookiesOf(headers: Headers): Record<string, string> | undefined {
  const header = headers.get('cookie');
  return header === null ? undefined : parse(header);
}

interface Proved {
  claims: AffinityClaims;
  signedWith: 'current' | 'previous';
}

/** One memory per key set: a new set (a rotated secret) starts empty. */
const memories = new WeakMap<SigningKeys, VerifiedTokens<Proved>>();

async function verifyCookie(token: string, keys: SigningKeys, nowSeconds: number): Promise<TokenVerdict> {
  let memory = memories.get(keys);
  if (!memory)
    memories.set(
      keys,
      (memory = new VerifiedTokens({ bytesOf: ({ claims }) => claims.originId.length + claims.sessionId.length })),
    );
  const proved = memory.get(token);
  if (proved) {
    const { claims, signedWith } = proved;
    return claims.expiresAt > nowSeconds ? { status: 'valid', claims, signedWith } : { status: 'expired', claims };
  }
  const verdict = await verifyAffinityToken(token, keys, nowSeconds);
  if (verdict.status === 'valid') memory.remember(token, { claims: verdict.claims, signedWith: verdict.signedWith });
  return verdict;
}
