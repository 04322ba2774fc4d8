/**
 * The admin session: what a sign-in on the status page leaves in the browser, and whether a presented
 * one still holds. The value is the session's expiry; the shell (admin/admin-session-cookie.ts) signs
 * it into an HttpOnly cookie with Hono's signed-cookie helpers, so a client can neither forge nor
 * extend it. Nothing here reads a clock: `now` is passed in.
 */
import * as v from 'valibot';

/**
 * The cookie's names. On https the `__Secure-` prefix (RFC 6265bis §4.1.3.1) means only a secure page
 * can set it; `__Host-` would be stronger but forces `Path=/`, which would send the cookie with every
 * request of the proxied application. Plain http (local development) cannot use a prefix.
 */
export const ADMIN_SESSION_COOKIE = {
  https: '__Secure-edge-affinity-admin',
  http: 'edge-affinity-admin',
} as const;

/** Both names: neither ever reaches an origin. */
export const ADMIN_SESSION_COOKIE_NAMES: readonly string[] = Object.values(ADMIN_SESSION_COOKIE);

/** One hour: long enough to follow an incident, short enough that a forgotten tab stops being signed in. */
export const ADMIN_SESSION_SECONDS = 3600;

/** The signed value: the expiry in Unix seconds, decimal. */
const SessionValue = v.pipe(v.string(), v.regex(/^[0-9]{1,12}$/), v.transform(Number));

export type AdminSessionVerdict = { ok: true; expiresAt: number } | { ok: false; reason: 'malformed' | 'expired' };

/** The value to sign for a session that starts at `now` (milliseconds). */
export function adminSessionValue(now: number, lifetimeSeconds = ADMIN_SESSION_SECONDS): string {
  return String(Math.floor(now / 1000) + lifetimeSeconds);
}

/** Judges a value whose signature has already been verified: it holds until its expiry, not a second longer. */
export function judgeAdminSession(value: string, now: number): AdminSessionVerdict {
  const parsed = v.safeParse(SessionValue, value);
  if (!parsed.success) return { ok: false, reason: 'malformed' };
  if (parsed.output * 1000 <= now) return { ok: false, reason: 'expired' };
  return { ok: true, expiresAt: parsed.output };
}
