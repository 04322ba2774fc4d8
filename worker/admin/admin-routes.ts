/**
 * The admin API under `/_affinity`: read and replace the configuration, see the status, sign in to
 * and out of the pages. Nothing under the prefix is ever proxied.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { NONCE, secureHeaders } from 'hono/secure-headers';
import type { AppEnv } from '../bindings';
import { CONFIG_KEY, type ConfigFailure } from '../config/config-source';
import { parseConfigText } from '../core/config/config-parse';
import type { IsolateState } from '../isolate-state';
import { adminAuth, adminEnabled } from './admin-auth';
import { ADMIN_ROUTES } from './admin-paths';
import { commitConfig } from './config-commit';
import { serveMetrics } from './metrics-route';
import { createOriginRoutes } from './origin-routes';
import { etagOf } from './config-commit';
import { NO_STORE, wantsHtml } from './admin-answers';
import { createSessionRoutes } from './session-routes';
import { renderStatusPage } from './status-page';
import { buildStatusReport } from './status-report';

/** 1,000 origins with long URLs fit several times over. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * The pages run no script at all (no script source: `default-src 'none'` covers it), have one inline
 * style sheet by nonce, and post forms to this origin only. No page may frame them, and the opener
 * policy cuts a window that a script of the proxied application opens on them off from it (its handle
 * reads as closed), unless the application's page has the same policy. `noopener-allow-popups` would
 * cut that one off too, but a browser that does not know it (Firefox) falls back to no policy at all.
 */
const ADMIN_SECURE_HEADERS = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    styleSrc: [NONCE],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
  crossOriginOpenerPolicy: 'same-origin',
  xFrameOptions: 'DENY',
});

export function createAdminApp(isolate: IsolateState): Hono<AppEnv> {
  const admin = new Hono<AppEnv>();
  admin.use('*', ADMIN_SECURE_HEADERS, adminEnabled);
  admin.route('/', createSessionRoutes());
  admin.get(ADMIN_ROUTES.status, adminAuth({ acceptSession: true }), (c) => serveStatus(c, isolate));
  // Every route from here on, and any added later, takes the bearer token only.
  admin.use('*', adminAuth());

  admin.get('/config', async (c) => {
    const lookup = await isolate.config.lookup(c.env, Date.now(), (task) => c.executionCtx.waitUntil(task));
    if (!lookup.ok) return c.json(noConfiguration(lookup), 404, NO_STORE);
    return c.json(lookup.table.config, 200, { ...NO_STORE, etag: await etagOf(lookup.text) });
  });

  admin.put(
    '/config',
    bodyLimit({ maxSize: MAX_CONFIG_BYTES, onError: (c) => c.json({ error: 'configuration larger than 1 MiB' }, 413) }),
    (c) => replaceConfig(c, isolate),
  );

  admin.get(ADMIN_ROUTES.metrics, (c) => serveMetrics(c, isolate));
  admin.route('/', createOriginRoutes(isolate));

  admin.all('*', (c) => c.json({ error: 'no such admin route' }, 404));
  return admin;
}

async function serveStatus(c: Context<AppEnv>, isolate: IsolateState): Promise<Response> {
  const now = Date.now();
  await isolate.config.lookup(c.env, now, (task) => c.executionCtx.waitUntil(task));
  const report = await buildStatusReport(c.env, isolate, now);
  if (!wantsHtml(c)) return c.json(report, 200, NO_STORE);
  return c.html(renderStatusPage(report, c.get('secureHeadersNonce')), 200, NO_STORE);
}

function noConfiguration(lookup: ConfigFailure) {
  switch (lookup.failure) {
    case 'invalid':
      return { error: `the configuration under the KV key "${CONFIG_KEY}" is invalid`, problems: lookup.problems };
    case 'unreadable':
      return { error: `the KV key "${CONFIG_KEY}" could not be read: ${lookup.reason}` };
    case 'missing':
      return { error: `no configuration is stored under the KV key "${CONFIG_KEY}"` };
  }
}

/** Validates, stores in KV, applies here at once, tells the health monitor. Nothing invalid is stored. */
async function replaceConfig(c: Context<AppEnv>, isolate: IsolateState): Promise<Response> {
  const parsed = parseConfigText(await c.req.text());
  if (!parsed.ok) return c.json({ error: 'invalid configuration', problems: parsed.problems }, 400, NO_STORE);
  const commit = await commitConfig(c, isolate, parsed.config, { via: 'admin' });
  if (!commit.ok) return c.json({ error: commit.error }, commit.status, NO_STORE);
  return c.json(parsed.config, 200, { ...NO_STORE, etag: commit.etag });
}
