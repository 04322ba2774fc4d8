import type { SecureHeadersVariables } from 'hono/secure-headers';

/**
 * The worker's bindings: those of wrangler.toml as `wrangler types` generated them (`Env`), plus the
 * secrets, which `wrangler types` only knows from a local .dev.vars and cannot declare as optional.
 */
export interface Bindings extends Env {
  /** The HMAC key of the affinity cookie. The worker fails closed (500) when it is missing or empty. */
  AFFINITY_SECRET?: string;
  /** A retired signing key, still accepted while cookies signed with it age out. */
  AFFINITY_SECRET_PREVIOUS?: string;
  /** Bearer token of the admin API; without it the admin API answers 404. */
  ADMIN_TOKEN?: string;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: SecureHeadersVariables;
}
