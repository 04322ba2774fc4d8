/**
 * A request can carry two credentials that name an origin: the affinity cookie and an envelope of a
 * learned value. Which one pins it, which key ranks its origins, and when it gets a fresh cookie.
 *
 * The envelope wins. It names the origin that issued the application's own session id, which is
 * where the application's state lives; the affinity cookie only says where this client went last.
 * A browser that carries both is then re-issued a cookie that agrees with the envelope.
 */
import { needsFreshCookie, type CookieReading } from './affinity-session';
import type { EnvelopeReading } from './envelope-reading';

export interface SessionPin {
  /** Index of the pinned origin. */
  pinned?: number;
  /** A pin that no longer holds for a reason other than health. */
  lapsedPin?: 'removed' | 'expired';
}

/**
 * A valid envelope's origin; else a valid cookie's; else the lapse of an authentic envelope (its
 * origin was removed), then of the cookie (removed or expired); else nothing: a new session.
 */
export function choosePin(cookie: CookieReading, envelope: EnvelopeReading): SessionPin {
  if (envelope.pinned !== undefined) return { pinned: envelope.pinned };
  if (cookie.pinned !== undefined) return { pinned: cookie.pinned };
  return { lapsedPin: envelope.lapsedPin ?? cookie.lapsedPin };
}

/**
 * The key the consistent hash ranks origins by: the application session's own (from an authentic
 * envelope), else the one `affinity.key` reads from the request, else the affinity session's id.
 */
export function sessionKeyOf(envelope: EnvelopeReading, requestKey: string | undefined, sessionId: string): string {
  return envelope.sessionKey ?? requestKey ?? sessionId;
}

/**
 * Whether the response carries a fresh affinity cookie. A client that sends an authentic envelope
 * and no affinity cookie at all is routed by its envelopes (MCP and API clients keep no cookies), so
 * a signed `Set-Cookie` on each of its requests would be work and bytes for nothing. Otherwise the
 * cookie's own rules apply, and a cookie that names another origin than the one that served is
 * re-issued to agree.
 */
export function issuesAffinityCookie(
  cookie: CookieReading,
  envelope: EnvelopeReading,
  served: { originId: string; now: number; ttl: number },
): boolean {
  if (cookie.outcome === 'absent' && envelope.unsealed.length > 0) return false;
  return needsFreshCookie(cookie, served.originId, served.now, served.ttl);
}
