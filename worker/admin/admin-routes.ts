/**
 * The admin API under `/_affinity`: read and replace the configuration, see the status, sign in to
 * and out of the pages. Nothing under the prefix is ever proxied.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { NONCE, secureHeaders } from 'hono/secure-headers';
import type { AppEnv } from '../bindings';
import { CONFIG_KEY, type ConfigLookup } from '../config/config-store';
import { parseConfigText } from '../core/config-parse';
import type { RoutingTable } from '../core/routing-table';
import { COORDINATOR } from '../health/monitor-protocol';
import type { IsolateState } from '../isolate-state';
import { errorMessage, logEvent } from '../log';
import { adminAuth, adminEnabled } from './admin-auth';
import { ADMIN_ROUTES } from './admin-paths';
import { etagOf, ifMatchHolds } from './config-etag';
import { wantsHtml } from './negotiation';
import { createSessionRoutes } from './session-routes';
import { renderStatusPage } from './status-page';
import { buildStatusReport } from './status-report';

/** 1,000 origins with long URLs fit several times over. */
const MAX_CONFIG_BYTES = 1024 * 1024;
const NO_STORE = { 'cache-control': 'no-store' };

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
    const lookup = await isolate.config.lookup(c.env.ORIGINS, Date.now(), (task) => c.executionCtx.waitUntil(task));
    const current = isolate.config.current();
    if (!current) return c.json(noConfiguration(lookup), 404, NO_STORE);
    return c.json(current.table.config, 200, { ...NO_STORE, etag: await etagOf(current.text) });
  });

  admin.put(
    '/config',
    bodyLimit({ maxSize: MAX_CONFIG_BYTES, onError: (c) => c.json({ error: 'configuration larger than 1 MiB' }, 413) }),
    (c) => replaceConfig(c, isolate),
  );

  admin.all('*', (c) => c.json({ error: 'no such admin route' }, 404));
  return admin;
}

async function serveStatus(c: Context<AppEnv>, isolate: IsolateState): Promise<Response> {
  const now = Date.now();
  await isolate.config.lookup(c.env.ORIGINS, now, (task) => c.executionCtx.waitUntil(task));
  const report = await buildStatusReport(c.env, isolate, now);
  if (!wantsHtml(c)) return c.json(report, 200, NO_STORE);
  return c.html(renderStatusPage(report, c.get('secureHeadersNonce')), 200, NO_STORE);
}

function noConfiguration(lookup: ConfigLookup) {
  if (lookup.status === 'invalid') {
    return { error: `the configuration under the KV key "${CONFIG_KEY}" is invalid`, problems: lookup.problems };
  }
  if (lookup.status === 'unavailable')
    return { error: `the KV key "${CONFIG_KEY}" could not be read: ${lookup.reason}` };
  return { error: `no configuration is stored under the KV key "${CONFIG_KEY}"` };
}

/** Validates, stores in KV, applies here at once, tells the health monitor. Nothing invalid is stored. */
async function replaceConfig(c: Context<AppEnv>, isolate: IsolateState): Promise<Response> {
  const parsed = parseConfigText(await c.req.text());
  if (!parsed.ok) return c.json({ error: 'invalid configuration', problems: parsed.problems }, 400, NO_STORE);
  const ifMatch = c.req.header('if-match');
  if (ifMatch !== undefined) {
    const stored = await c.env.ORIGINS.get(CONFIG_KEY, 'text');
    if (!ifMatchHolds(ifMatch, stored === null ? null : await etagOf(stored))) {
      return c.json({ error: 'the stored configuration changed since it was read (If-Match failed)' }, 412, NO_STORE);
    }
  }
  const text = JSON.stringify(parsed.config, null, 2);
  try {
    await c.env.ORIGINS.put(CONFIG_KEY, text);
  } catch (error) {
    logEvent('error', 'config.store-failed', { error: errorMessage(error) });
    return c.json({ error: 'the configuration could not be stored in KV; nothing changed' }, 503, NO_STORE);
  }
  const table = isolate.config.apply(parsed.config, text, Date.now());
  logEvent('info', 'config.updated', { via: 'admin', origins: parsed.config.origins.length });
  await tellMonitor(c, table);
  return c.json(parsed.config, 200, { ...NO_STORE, etag: await etagOf(text) });
}

async function tellMonitor(c: Context<AppEnv>, table: RoutingTable): Promise<void> {
  try {
    await c.env.HEALTH_MONITOR.getByName(COORDINATOR).configure(table.healthPlan);
  } catch (error) {
    // Stored and applied all the same: isolates give the monitor the plan on their next refresh.
    logEvent('warn', 'health.configure-failed', { error: errorMessage(error) });
  }
}
