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
  /**
   * Optional Workers Analytics Engine dataset (wrangler.toml, commented out): one data point per
   * routing decision (fleet/analytics.ts).
   */
  AFFINITY_ANALYTICS?: AnalyticsEngineDataset;
  /**
   * `"off"` stops this deployment's isolates counting traffic for the fleet view (and so the one
   * Durable Object call per isolate per 10 s that reports it); anything else, or nothing, counts.
   */
  AFFINITY_COUNTING?: string;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: SecureHeadersVariables;
}
