/**
 * The admin session on the wire: an HttpOnly, `SameSite=Strict` cookie scoped to the admin prefix,
 * signed with Hono's signed-cookie helpers (HMAC-SHA256, checked with `crypto.subtle.verify`) under a
 * key derived from ADMIN_TOKEN, so rotating the token ends every session. The signed value carries
 * its own expiry (core/session/admin-session.ts), checked on every request: `Max-Age` only asks the browser
 * to forget the cookie, and a client that keeps it or edits it gains nothing.
 *
 * Which requests the cookie may authenticate at all is admin-auth.ts's business.
 */
import type { Context } from 'hono';
import { deleteCookie, getCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import {
  ADMIN_SESSION_COOKIE,
  ADMIN_SESSION_SECONDS,
  adminSessionValue,
  judgeAdminSession,
  type AdminSessionVerdict,
} from '../core/session/admin-session';
import { ADMIN_PREFIX } from './admin-paths';

/** What a request's admin cookie says; `forged` covers a bad signature and one made under an older token. */
export type AdminSessionReading = AdminSessionVerdict | { ok: false; reason: 'absent' | 'forged' };

/** Domain separation: the bearer token itself never serves as a MAC key. */
const SESSION_KEY_INFO = new TextEncoder().encode('edge-affinity admin session v1');

/** The session's signing key: HKDF-SHA256 (RFC 5869) of ADMIN_TOKEN. */
async function sessionSecret(adminToken: string): Promise<ArrayBuffer> {
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(adminToken), 'HKDF', false, [
    'deriveBits',
  ]);
  const params = { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: SESSION_KEY_INFO };
  return crypto.subtle.deriveBits(params, material, 256);
}

/**
 * Name and attributes for this request's scheme. `Path` keeps the cookie off the proxied application's
 * requests (RFC 6265 §5.1.4); it is no security boundary on its own (§8.5), `HttpOnly` and the
 * navigation-only rule are. `SameSite=Strict`: no other site can make a browser send it.
 */
function sessionCookie(c: Context) {
  const https = new URL(c.req.url).protocol === 'https:';
  return {
    name: https ? ADMIN_SESSION_COOKIE.https : ADMIN_SESSION_COOKIE.http,
    options: { path: ADMIN_PREFIX, httpOnly: true, secure: https, sameSite: 'Strict', maxAge: ADMIN_SESSION_SECONDS },
  } as const;
}

/** Signs a session that starts at `now` into the response's `Set-Cookie`. */
export async function startAdminSession(c: Context, adminToken: string, now: number): Promise<void> {
  const { name, options } = sessionCookie(c);
  await setSignedCookie(c, name, adminSessionValue(now), await sessionSecret(adminToken), options);
}

/** Reads and judges the request's admin cookie (the one of its scheme only). */
export async function readAdminSession(c: Context, adminToken: string, now: number): Promise<AdminSessionReading> {
  const { name } = sessionCookie(c);
  if (getCookie(c, name) === undefined) return { ok: false, reason: 'absent' }; // nothing to verify: no key to derive
  const value = await getSignedCookie(c, await sessionSecret(adminToken), name);
  if (value === undefined) return { ok: false, reason: 'absent' };
  if (value === false) return { ok: false, reason: 'forged' };
  return judgeAdminSession(value, now);
}

/** Tells the browser to drop the cookie (`Max-Age=0`, same name, path and attributes). */
export function endAdminSession(c: Context): void {
  const { name, options } = sessionCookie(c);
  deleteCookie(c, name, options);
}
