/**
 * Where the admin API lives: app.ts mounts it under the prefix, the admin session cookie is scoped to
 * the prefix, and the pages link to its routes. Nothing under the prefix is ever proxied.
 */
export const ADMIN_PREFIX = '/_affinity';

/** Routes of the admin app, relative to the prefix. */
export const ADMIN_ROUTES = {
  /** The status page, and its JSON. */
  status: '/status',
  /** `POST` the sign-in form here: it starts an admin session. */
  signIn: '/session',
  /** `POST` here to end the admin session. */
  signOut: '/session/end',
  /** The fleet's figures for Prometheus (bearer token only). */
  metrics: '/metrics',
} as const;

/** The path a browser uses for an admin route. */
export function adminPath(route: (typeof ADMIN_ROUTES)[keyof typeof ADMIN_ROUTES]): string {
  return `${ADMIN_PREFIX}${route}`;
}
