/**
 * The Hono application: the admin API under `/_affinity`, everything else proxied.
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ADMIN_PREFIX } from './admin/admin-paths';
import { createAdminApp } from './admin/admin-routes';
import type { AppEnv } from './bindings';
import { plainText } from './http/error-responses';
import { proxyRequest } from './http/proxy';
import { IsolateState } from './isolate-state';
import { logEvent } from './log';

export function createApp(isolate = new IsolateState()): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.route(ADMIN_PREFIX, createAdminApp(isolate));
  app.all('*', (c) => proxyRequest(c, isolate));
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    // The client learns that something broke, not what: details go to the logs only.
    logEvent('error', 'unhandled', {
      method: c.req.method,
      path: c.req.path,
      error: error.message,
      stack: error.stack,
    });
    return plainText(500, 'edge-affinity: internal error.');
  });
  return app;
}
