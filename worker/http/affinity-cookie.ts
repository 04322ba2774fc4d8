/**
 * The affinity cookie on the wire: a new session's id and the `Set-Cookie` header. Hono's helpers
 * handle the RFC 6265 grammar (reading is `getCookie`); the token itself is ours (see core/affinity-token).
 */
import { generateCookie } from 'hono/cookie';
import { stateCookieName, type AffinityConfig } from '../core/config/config-schema';
import { encodeBase64Url } from '../core/text/base64url';

/** A new session id: 96 random bits, 16 base64url characters. */
export function newSessionId(): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(12)));
}

/**
 * `Set-Cookie` for a token: host-only, `Path=/`, `HttpOnly` (scripts have no use for it), `SameSite`
 * from the configuration, `Max-Age` (`ttl`) unless `lifetime: "browser"` makes it a session cookie,
 * `Secure` on https and whenever the name's prefix demands it (RFC 6265bis §4.1.3).
 */
export function affinityCookieHeader(token: string, affinity: AffinityConfig, requestUrl: string): string {
  return generateCookie(affinity.cookie, token, lasting(affinity, requestUrl));
}

/** `Set-Cookie` for the session's sealed state (`<cookie>_state`): the affinity cookie's attributes. */
export function stateCookieHeader(sealed: string, affinity: AffinityConfig, requestUrl: string): string {
  return generateCookie(stateCookieName(affinity.cookie), sealed, lasting(affinity, requestUrl));
}

/** `Set-Cookie` that removes the session's sealed state. */
export function clearedStateCookieHeader(affinity: AffinityConfig, requestUrl: string): string {
  return generateCookie(stateCookieName(affinity.cookie), '', { ...attributes(affinity, requestUrl), maxAge: 0 });
}

/** The attributes of a cookie that lasts as the session does: `Max-Age` only with a persistent lifetime. */
function lasting(affinity: AffinityConfig, requestUrl: string) {
  const base = attributes(affinity, requestUrl);
  return affinity.lifetime === 'browser' ? base : { ...base, maxAge: affinity.ttl };
}

/**
 * `Set-Cookie` that ends the pin (`Affinity-Control: release`): the same name and attributes, an empty
 * value and `Max-Age=0`, which makes the browser delete the cookie at once (RFC 6265 §5.3 step 11).
 */
export function clearedAffinityCookieHeader(affinity: AffinityConfig, requestUrl: string): string {
  return generateCookie(affinity.cookie, '', { ...attributes(affinity, requestUrl), maxAge: 0 });
}

function attributes(affinity: AffinityConfig, requestUrl: string) {
  const prefixed = /^__(secure|host)-/i.test(affinity.cookie);
  const secure = prefixed || affinity.sameSite === 'None' || new URL(requestUrl).protocol === 'https:';
  return { path: '/', httpOnly: true, secure, sameSite: affinity.sameSite } as const;
}
