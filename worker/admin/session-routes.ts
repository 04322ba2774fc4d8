/**
 * Signing in to and out of the admin pages with plain HTML forms, no script:
 *
 * - `POST /_affinity/session`, form field `token`: the right ADMIN_TOKEN starts an admin session
 *   (admin-session-cookie.ts) and answers 303 See Other to the status page (RFC 9110 §15.4.4: the
 *   browser follows with a GET, so a reload does not post the form again); a wrong one answers 401
 *   with the sign-in page. The token travels in the request body only: never in a URL, a history
 *   entry, a response or a log.
 * - `POST /_affinity/session/end`: clears the cookie and answers 303 to the status page.
 *
 * Hono's `csrf()` refuses these posts from another site (by `Sec-Fetch-Site`, else `Origin`), so no
 * page elsewhere can sign a browser in or out.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { csrf } from 'hono/csrf';
import { validator } from 'hono/validator';
import * as v from 'valibot';
import type { AppEnv } from '../bindings';
import { logEvent } from '../log';
import { configuredToken, showSignIn, tokenMatches } from './admin-auth';
import { ADMIN_ROUTES, adminPath } from './admin-paths';
import { endAdminSession, startAdminSession } from './admin-session-cookie';

/** A token and some form overhead; nothing legitimate comes close. */
const MAX_FORM_BYTES = 4 * 1024;

const SignInForm = v.object({ token: v.pipe(v.string(), v.nonEmpty()) });

export function createSessionRoutes(): Hono<AppEnv> {
  const session = new Hono<AppEnv>();
  session.post(
    ADMIN_ROUTES.signIn,
    csrf(),
    bodyLimit({ maxSize: MAX_FORM_BYTES, onError: (c) => signInRefused(c) }),
    validator('form', (form, c) => {
      const parsed = v.safeParse(SignInForm, form);
      return parsed.success ? parsed.output : signInRefused(c);
    }),
    async (c) => {
      const expected = configuredToken(c);
      if (!(await tokenMatches(c.req.valid('form').token, expected))) return signInRefused(c);
      await startAdminSession(c, expected, Date.now());
      logEvent('info', 'admin.signed-in');
      return toStatusPage(c);
    },
  );
  session.post(ADMIN_ROUTES.signOut, csrf(), (c) => {
    endAdminSession(c);
    return toStatusPage(c);
  });
  return session;
}

function signInRefused(c: Context<AppEnv>): Response | Promise<Response> {
  logEvent('warn', 'admin.sign-in-refused');
  return showSignIn(c, 'refused');
}

function toStatusPage(c: Context<AppEnv>): Response {
  c.header('cache-control', 'no-store');
  return c.redirect(adminPath(ADMIN_ROUTES.status), 303);
}
