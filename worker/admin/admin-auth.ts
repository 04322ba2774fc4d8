/**
 * Who may use the admin API.
 *
 * - `Authorization: Bearer <ADMIN_TOKEN>` (RFC 6750), compared in constant time: every route.
 * - The admin session cookie (admin-session-cookie.ts): the HTML pages only, and only on a top-level
 *   navigation that reads (see isReadingNavigation). The proxied application's scripts run on the same
 *   origin as these pages, so the cookie must be useless to them: it is HttpOnly (they cannot read
 *   it), and a fetch, XHR, frame, worker or form post of theirs is never such a navigation (they cannot
 *   use it). The browser sets the `Sec-Fetch-*` headers (W3C Fetch Metadata) and no script can: they
 *   are forbidden request headers.
 *
 * Without an ADMIN_TOKEN the admin API does not exist: 404, so an unconfigured deployment does not
 * even reveal it. A refusal is 401 with `WWW-Authenticate: Bearer`; a browser asking for a page gets
 * the sign-in page with it.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { timingSafeEqual } from 'hono/utils/buffer';
import type { AppEnv } from '../bindings';
import { readAdminSession } from './admin-session-cookie';
import { NO_STORE, wantsHtml } from './admin-answers';
import { renderSignInPage, type SignInNotice } from './page-layout';

const CHALLENGE = { ...NO_STORE, 'www-authenticate': 'Bearer realm="edge-affinity"' };

export interface AdminAuthOptions {
  /**
   * Also accept the admin session cookie, on a top-level navigation that reads. For the HTML pages:
   * an API client has the token, and a change is never a navigation that reads.
   * @default false (Bearer only)
   */
  acceptSession?: boolean;
}

/** Answers 404 to everything under the prefix when no ADMIN_TOKEN is configured. */
export const adminEnabled: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.env.ADMIN_TOKEN) return c.text('Not Found', 404);
  await next();
};

/**
 * Not `hono/bearer-auth`: on a missing or wrong token it answers its own 401 at once, where this one
 * must first try the admin session cookie (on a reading navigation) and then answer a browser with the
 * sign-in page; its `verifyToken` hook would leave only the comparison to it, which is Hono's
 * `timingSafeEqual` here as well.
 */
export function adminAuth({ acceptSession = false }: AdminAuthOptions = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const expected = configuredToken(c);
    const header = c.req.header('authorization');
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
    if (presented !== undefined && (await tokenMatches(presented, expected))) return next();
    if (!acceptSession || !isReadingNavigation(c.req.raw)) return refuseAdmin(c, header ? 'refused' : undefined);
    const session = await readAdminSession(c, expected, Date.now());
    if (session.ok) return next();
    return refuseAdmin(c, header ? 'refused' : session.reason === 'absent' ? undefined : 'ended');
  };
}

/**
 * A top-level navigation that reads: what a browser sends for an address typed, a link, a bookmark, a
 * reload or the status page's own refresh. Not a frame (`Sec-Fetch-Dest: iframe`), not a script's
 * request (`cors`, `no-cors`, `same-origin`), not a form post. A client that sends no Fetch Metadata
 * (an old browser; any browser on plain http other than localhost) is refused: fail closed.
 */
export function isReadingNavigation(request: Request): boolean {
  return (
    (request.method === 'GET' || request.method === 'HEAD') &&
    request.headers.get('sec-fetch-mode') === 'navigate' &&
    request.headers.get('sec-fetch-dest') === 'document'
  );
}

/** Constant time (Hono's `timingSafeEqual`): a refusal takes as long whatever the token resembles. */
export function tokenMatches(presented: string, expected: string): Promise<boolean> {
  return timingSafeEqual(presented, expected);
}

/** The ADMIN_TOKEN; `adminEnabled`, mounted first, has already answered 404 without one. */
export function configuredToken(c: Context<AppEnv>): string {
  const token = c.env.ADMIN_TOKEN;
  if (!token) throw new Error('admin routes must be mounted behind adminEnabled');
  return token;
}

/** 401: the sign-in page for a browser asking for a page, JSON for anything else. */
export function refuseAdmin(c: Context<AppEnv>, notice?: SignInNotice): Response | Promise<Response> {
  if (c.req.method === 'GET' && wantsHtml(c)) return showSignIn(c, notice);
  return c.json({ error: 'unauthorized: send Authorization: Bearer <ADMIN_TOKEN>' }, 401, CHALLENGE);
}

/** The sign-in page, as a 401 with the Bearer challenge (RFC 9110 §15.5.2 asks for one on every 401). */
export function showSignIn(c: Context<AppEnv>, notice?: SignInNotice): Response | Promise<Response> {
  return c.html(renderSignInPage({ nonce: c.get('secureHeadersNonce'), notice }), 401, CHALLENGE);
}
