/**
 * The worker's request handler: the admin API under `/_affinity` (a Hono app), everything else proxied.
 *
 * Proxied requests go to the proxy directly rather than through Hono's router: they are every request
 * but the operator's, and the proxy needs nothing of Hono's (no routing, no context, no middleware), so
 * a router match and a context per request would be cost for nothing on the path that must stay close
 * to a bare pass-through. Errors that escape either are answered alike, without details.
 */
import { Hono } from 'hono';
import { loggedPath } from './core/text/logged-path';
import { HTTPException } from 'hono/http-exception';
import { ADMIN_PREFIX, adminPathOf } from './admin/admin-paths';
import { createAdminApp } from './admin/admin-routes';
import type { AppEnv, Bindings } from './bindings';
import { plainText } from './http/error-responses';
import { proxyRequest } from './http/proxy';
import { IsolateState } from './isolate-state';
import { errorMessage, logEvent } from './log';

export interface App {
  fetch(request: Request, env: Bindings, ctx: ExecutionContext): Promise<Response>;
}

export function createApp(isolate = new IsolateState()): App {
  const admin = new Hono<AppEnv>();
  admin.route(ADMIN_PREFIX, createAdminApp(isolate));
  admin.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    return internalError(c.req.method, loggedPath(c.req.path), error);
  });
  return {
    async fetch(request, env, ctx) {
      const adminRequest = toAdmin(request);
      if (adminRequest) return admin.fetch(adminRequest, env, ctx);
      try {
        return await proxyRequest({ request, env, ctx }, isolate);
      } catch (error) {
        return internalError(request.method, loggedPath(new URL(request.url).pathname), error);
      }
    },
  };
}

/**
 * The request for the admin app when its path names the admin API in any spelling (admin-paths.ts),
 * at the canonical path Hono's mount matches; undefined for every request to proxy.
 */
function toAdmin(request: Request): Request | undefined {
  const { url } = request;
  const pathStart = url.indexOf('/', url.indexOf('//') + 2);
  const path = url.slice(pathStart);
  const adminPath = adminPathOf(path);
  if (adminPath === null) return undefined;
  return adminPath === path ? request : new Request(url.slice(0, pathStart) + adminPath, request);
}

/** The client learns that something broke, not what: details go to the logs only. */
function internalError(method: string, path: string, error: unknown): Response {
  logEvent('error', 'unhandled', {
    method,
    path,
    error: errorMessage(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  return plainText(500, 'edge-affinity: internal error.');
}
