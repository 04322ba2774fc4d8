/**
 * Who may use the admin API: whoever presents `Authorization: Bearer <ADMIN_TOKEN>` (RFC 6750),
 * compared in constant time (Hono's `timingSafeEqual`).
 *
 * Without an `ADMIN_TOKEN` the admin API does not exist: 404, so an unconfigured deployment does not
 * even reveal it. A missing or wrong token answers 401 with `WWW-Authenticate: Bearer`; a browser
 * asking for a page gets the sign-in page with it (see page-layout.tsx).
 */
import type { MiddlewareHandler } from 'hono';
import { timingSafeEqual } from 'hono/utils/buffer';
import type { AppEnv } from '../bindings';
import { wantsHtml } from './negotiation';
import { renderSignInPage } from './page-layout';

const CHALLENGE = { 'www-authenticate': 'Bearer realm="edge-affinity"', 'cache-control': 'no-store' };

export const adminAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const expected = c.env.ADMIN_TOKEN;
  if (!expected) return c.text('Not Found', 404);
  const header = c.req.header('authorization');
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
  if (presented !== undefined && (await timingSafeEqual(presented, expected))) return next();
  if (c.req.method === 'GET' && wantsHtml(c)) {
    return c.html(renderSignInPage(c.get('secureHeadersNonce'), header !== undefined), 401, CHALLENGE);
  }
  return c.json({ error: 'unauthorized: send Authorization: Bearer <ADMIN_TOKEN>' }, 401, CHALLENGE);
};
