/**
 * The worker's bindings: those of wrangler.toml as `wrangler types` generated them (`Env`), plus the
 * optional secrets, which `wrangler types` cannot declare as optional.
 */
export interface Bindings extends Env {
  /** A retired signing key, still accepted while cookies signed with it age out. */
  AFFINITY_SECRET_PREVIOUS?: string;
  /** Bearer token of the admin API; without it the admin API answers 404. */
  ADMIN_TOKEN?: string;
}

export interface AppEnv {
  Bindings: Bindings;
}
