/**
 * The configuration schema (KV key `config`, admin API `PUT /_affinity/config`).
 *
 * One schema serves both entry points so that nothing the admin API would refuse can be applied
 * from KV, and the other way round. Every object is strict: a misspelt key ("wieght") is an error,
 * not a silently ignored setting.
 */
import * as v from 'valibot';

/** Origin ids are opaque labels that end up in the affinity cookie, so they stay cookie- and URL-safe. */
export const ORIGIN_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** An RFC 9110 §5.6.2 token: what header names and (RFC 6265 §4.1.1) cookie names are made of. */
const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const TOKEN_PATTERN = new RegExp(`^${TOKEN}$`);
const SESSION_KEY_PATTERN = new RegExp(`^(random|ip|header:${TOKEN}|cookie:${TOKEN})$`);

/** Browsers cap Max-Age at 400 days (RFC 6265bis §5.6.2). */
const MAX_COOKIE_AGE = 34_560_000;

export const ORIGIN_STATES = ['active', 'draining', 'disabled'] as const;
export const ALGORITHMS = ['rendezvous', 'ring'] as const;
export const FAILOVER_MODES = ['sticky', 'none'] as const;
export const SAME_SITE_VALUES = ['Lax', 'Strict', 'None'] as const;
export const DECISION_LOG_MODES = ['all', 'changes'] as const;

/** Defaults applied to every optional setting. */
export const CONFIG_DEFAULTS = {
  origin: { weight: 1, state: 'active' },
  affinity: {
    cookie: '__affinity',
    ttl: 82_800,
    key: 'random',
    algorithm: 'rendezvous',
    failover: 'sticky',
    sameSite: 'Lax',
    decisionHeader: false,
    decisionLog: 'all',
  },
  health: { path: '/', interval: 10, timeout: 2, rise: 2, fall: 2 },
  proxy: { timeout: 30, attempts: 3, bodyTimeout: 10, uploadTimeout: 300 },
} as const;

function isHttpOriginUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const httpish = url.protocol === 'http:' || url.protocol === 'https:';
  // The raw text too: a bare "?" or "#" leaves url.search and url.hash empty, yet the request path
  // appended to it would land in the query or the fragment.
  const plain = !value.includes('?') && !value.includes('#');
  return httpish && plain && !url.username && !url.password;
}

export const isObject = (input: unknown): input is Record<string, unknown> =>
  typeof input === 'object' && input !== null && !Array.isArray(input);

/**
 * An object with these keys; unknown keys are reported by config-parse.ts, which walks this schema
 * (valibot's strict object reports only the first unknown key, loses `__proto__` and lets arrays
 * through).
 */
function strict<const T extends v.ObjectEntries>(entries: T) {
  return v.pipe(v.custom<Record<string, unknown>>(isObject, 'must be an object'), v.object(entries));
}

function bounded(min: number, max: number) {
  const range = `must be a number from ${min} to ${max}`;
  return v.pipe(v.number(range), v.finite(range), v.minValue(min, range), v.maxValue(max, range));
}

function boundedInteger(min: number, max: number) {
  const range = `must be an integer from ${min} to ${max}`;
  return v.pipe(v.number(range), v.integer(range), v.minValue(min, range), v.maxValue(max, range));
}

function oneOf<const T extends readonly string[]>(options: T) {
  return v.picklist(options, `must be one of ${options.map((o) => `"${o}"`).join(', ')}`);
}

/** An origin's weight and state: the two settings `PATCH /_affinity/origins/<id>` changes too. */
export const ORIGIN_WEIGHT = bounded(0, 1000);
export const ORIGIN_STATE = oneOf(ORIGIN_STATES);

const OriginSchema = strict({
  id: v.pipe(
    v.string('must be a string'),
    v.regex(ORIGIN_ID_PATTERN, 'must be 1 to 64 characters from A-Z a-z 0-9 . _ -'),
  ),
  url: v.pipe(
    v.string('must be a string'),
    v.check(
      isHttpOriginUrl,
      'must be an absolute http: or https: URL (a path prefix is allowed; no credentials, query or fragment)',
    ),
  ),
  weight: v.optional(ORIGIN_WEIGHT, CONFIG_DEFAULTS.origin.weight),
  state: v.optional(ORIGIN_STATE, CONFIG_DEFAULTS.origin.state),
});

const OriginListSchema = v.pipe(
  v.array(OriginSchema, 'must be an array of origins'),
  v.minLength(1, 'must list at least one origin'),
  v.maxLength(1000, 'must list at most 1000 origins'),
  // Runs even when some origins have other problems, so that every problem is reported at once.
  v.rawCheck(({ dataset, addIssue }) => {
    const origins: unknown = dataset.value;
    if (!Array.isArray(origins)) return;
    const seen = new Set<string>();
    origins.forEach((origin: unknown, index) => {
      const id = (origin as { id?: unknown } | null)?.id;
      if (typeof id !== 'string') return;
      if (seen.has(id)) {
        addIssue({
          message: `duplicates the id "${id}" of an earlier origin`,
          path: [{ type: 'array', origin: 'value', input: origins, key: index, value: origin }],
        });
      }
      seen.add(id);
    });
  }),
);

const d = CONFIG_DEFAULTS;

const AffinitySchema = strict({
  cookie: v.optional(
    v.pipe(v.string('must be a string'), v.regex(TOKEN_PATTERN, 'must be a cookie name (an RFC 6265 token)')),
    d.affinity.cookie,
  ),
  ttl: v.optional(boundedInteger(1, MAX_COOKIE_AGE), d.affinity.ttl),
  key: v.optional(
    v.pipe(
      v.string('must be a string'),
      v.regex(SESSION_KEY_PATTERN, 'must be "random", "ip", "header:<name>" or "cookie:<name>"'),
    ),
    d.affinity.key,
  ),
  algorithm: v.optional(oneOf(ALGORITHMS), d.affinity.algorithm),
  failover: v.optional(oneOf(FAILOVER_MODES), d.affinity.failover),
  sameSite: v.optional(oneOf(SAME_SITE_VALUES), d.affinity.sameSite),
  decisionHeader: v.optional(v.boolean('must be true or false'), d.affinity.decisionHeader),
  decisionLog: v.optional(oneOf(DECISION_LOG_MODES), d.affinity.decisionLog),
});

const HealthSchema = strict({
  path: v.optional(
    v.pipe(
      v.string('must be a string'),
      v.regex(/^\/[^\s#]*$/, 'must be a path starting with "/" (a query is allowed)'),
      v.maxLength(2048, 'must be at most 2048 characters'),
    ),
    d.health.path,
  ),
  interval: v.optional(bounded(1, 3600), d.health.interval),
  timeout: v.optional(bounded(0.1, 60), d.health.timeout),
  rise: v.optional(boundedInteger(1, 10), d.health.rise),
  fall: v.optional(boundedInteger(1, 10), d.health.fall),
});

const ProxySchema = strict({
  timeout: v.optional(bounded(0.1, 300), d.proxy.timeout),
  attempts: v.optional(boundedInteger(1, 10), d.proxy.attempts),
  /** Seconds a client has to send a body the worker buffers for replay (up to 64 KiB); then 408. */
  bodyTimeout: v.optional(bounded(0.1, 300), d.proxy.bodyTimeout),
  /** Seconds an origin has to answer a request whose body streams through (over 64 KiB); then 504. */
  uploadTimeout: v.optional(bounded(1, 3600), d.proxy.uploadTimeout),
});

export const ConfigSchema = strict({
  origins: OriginListSchema,
  affinity: v.optional(AffinitySchema, {}),
  health: v.optional(HealthSchema, {}),
  proxy: v.optional(ProxySchema, {}),
});

/** A configuration as it is in force: every default filled in. */
export type Config = v.InferOutput<typeof ConfigSchema>;
export type OriginConfig = Config['origins'][number];
export type OriginState = (typeof ORIGIN_STATES)[number];
export type AffinityConfig = Config['affinity'];
export type HealthConfig = Config['health'];
export type ProxyConfig = Config['proxy'];
