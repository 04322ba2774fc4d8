/**
 * The configuration schema (KV key `config`, admin API `PUT /_affinity/config`).
 *
 * One schema serves both entry points so that nothing the admin API would refuse can be applied
 * from KV, and the other way round. Every object is strict: a misspelt key ("wieght") is an error,
 * not a silently ignored setting.
 */
import * as v from 'valibot';
import { HTTP_TOKEN as TOKEN } from '../text/http-token';
import { entryNamingCookie, LearnedNamesSchema } from '../session/learned-names';
import { normaliseOriginUrl } from './origin-url';
import { REPLAY_POLICIES } from '../failover/replay-rule';

/** Origin ids are opaque labels that end up in the affinity cookie, so they stay cookie- and URL-safe. */
export const ORIGIN_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

const TOKEN_PATTERN = new RegExp(`^${TOKEN}$`);
const SESSION_KEY_PATTERN = new RegExp(`^(random|ip|header:${TOKEN}|cookie:${TOKEN})$`);

/** Browsers cap Max-Age at 400 days (RFC 6265bis §5.6.2). */
const MAX_COOKIE_AGE = 34_560_000;

export const ORIGIN_STATES = ['active', 'draining', 'disabled'] as const;
export const ALGORITHMS = ['rendezvous', 'ring'] as const;
export const FAILOVER_MODES = ['sticky', 'none'] as const;
export const SAME_SITE_VALUES = ['Lax', 'Strict', 'None'] as const;
export const DECISION_LOG_MODES = ['all', 'changes'] as const;
/** `persistent`: the cookies carry `Max-Age`; `browser`: none, they end with the browser session. */
export const COOKIE_LIFETIMES = ['persistent', 'browser'] as const;

/** The name of the cookie that carries a session's sealed state (core/session/sealed-state.ts). */
export const stateCookieName = (affinityCookie: string) => `${affinityCookie}_state`;

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
    // Routine requests are left out by default: Workers' own request logs record every invocation, and
    // the line was the largest share of the request path's added CPU (BENCHMARKS.md, README Performance).
    decisionLog: 'changes',
    learn: [],
    handoff: false,
    lifetime: 'persistent',
  },
  health: { path: '/', interval: 10, timeout: 2, rise: 2, fall: 2 },
  proxy: { timeout: 30, attempts: 3, bodyTimeout: 10, uploadTimeout: 300, replay: 'safe' },
} as const;

export const isObject = (input: unknown): input is Record<string, unknown> =>
  typeof input === 'object' && input !== null && !Array.isArray(input);

/**
 * An object with these keys; unknown keys are reported by config-parse.ts, which walks this schema
 * (valibot's strict object reports only the first unknown key, loses `__proto__` and lets arrays
 * through).
 */
function strict<const T extends v.ObjectEntries>(entries: T) {
  // v.object's own issue can only be a missing key here: the check before it has refused non-objects.
  return v.pipe(v.custom<Record<string, unknown>>(isObject, 'must be an object'), v.object(entries, 'is required'));
}

// One check per range, not finite + minValue + maxValue: valibot runs every check of a pipe, so
// Infinity (JSON's 1e400) or 1e9 + 0.5 would report the same problem twice.
function bounded(min: number, max: number) {
  const range = `must be a number from ${min} to ${max}`;
  return v.pipe(
    v.number(range),
    v.check((n) => Number.isFinite(n) && n >= min && n <= max, range),
  );
}

function boundedInteger(min: number, max: number) {
  const range = `must be an integer from ${min} to ${max}`;
  return v.pipe(
    v.number(range),
    v.check((n) => Number.isInteger(n) && n >= min && n <= max, range),
  );
}

/** A number of at least `min`, with no upper limit but a finite one. */
function atLeast(min: number, message: string) {
  return v.pipe(
    v.number(message),
    v.check((n) => Number.isFinite(n) && n >= min, message),
  );
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
  // The output is the URL's normal form, which routing and probing append paths to as it is;
  // origin-url.ts says what is normalised (whitespace, case, default port, dot segments, trailing
  // slashes) and what is refused (control characters, backslashes, credentials, query, fragment).
  url: v.pipe(
    v.string('must be a string'),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const result = normaliseOriginUrl(dataset.value);
      if (result.ok) return result.url;
      addIssue({ message: result.message });
      return NEVER;
    }),
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
      // An id that is not valid has its own problem already; a duplicate of it would only repeat it.
      if (typeof id !== 'string' || !ORIGIN_ID_PATTERN.test(id)) return;
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

/** Strict like the others (see `strict`), plus a check across two of its settings. */
const AffinitySchema = v.pipe(
  v.custom<Record<string, unknown>>(isObject, 'must be an object'),
  v.object({
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
    learn: v.optional(LearnedNamesSchema, () => [...d.affinity.learn]),
    /**
     * Load-aware placement (core/routing/bounded-load.ts): a session placed on an origin skips it while its
     * load is above this many times the weighted mean. No default: absent, placement ignores load.
     */
    balanceFactor: v.optional(atLeast(1, 'must be a number of at least 1 (1.25 is typical)')),
    /** Origins' `Affinity-State` sealed into `<cookie>_state` and handed to a moved session's next origin. */
    handoff: v.optional(v.boolean('must be true or false'), d.affinity.handoff),
    /**
     * Moves sessions that carry a sealed state to their first choice when it changed (an origin added,
     * readmitted, heavier), at most `rate` a second per isolate (core/routing/rebalance-rate.ts, route-plan.ts). Absent: never.
     */
    rebalance: v.optional(strict({ rate: bounded(0.01, 1000) })),
    /** Seconds from a session's first pin after which it is re-hashed, whatever its activity; signed. */
    maxAge: v.optional(boundedInteger(1, MAX_COOKIE_AGE)),
    lifetime: v.optional(oneOf(COOKIE_LIFETIMES), d.affinity.lifetime),
  }),
  // Runs even when other settings have problems, so that every problem is reported at once.
  v.rawCheck(({ dataset, addIssue }) => {
    const affinity = dataset.value as { cookie?: unknown; learn?: unknown; handoff?: unknown; rebalance?: unknown };
    const cookie = affinity.cookie ?? d.affinity.cookie;
    if (typeof cookie !== 'string') return;
    for (const [name, what] of [
      [cookie, 'affinity cookie'],
      [stateCookieName(cookie), 'state cookie'],
    ] as const) {
      const index = entryNamingCookie(affinity.learn, name);
      if (index < 0) continue;
      addIssue({
        message: `must not name the ${what} "${name}": the worker keeps that cookie from origins`,
        path: [
          { type: 'object', origin: 'value', input: affinity, key: 'learn', value: affinity.learn },
          { type: 'array', origin: 'value', input: affinity.learn as unknown[], key: index, value: `cookie:${name}` },
        ],
      });
    }
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    const affinity = dataset.value as { handoff?: unknown; rebalance?: unknown };
    if (affinity.rebalance === undefined || affinity.handoff === true) return;
    addIssue({
      message: 'needs "handoff": true: only sessions that carry their sealed state are moved',
      path: [{ type: 'object', origin: 'value', input: affinity, key: 'rebalance', value: affinity.rebalance }],
    });
  }),
);

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
  /** Seconds an origin has to answer a request whose body streams through (over 64 KiB); then 502. */
  uploadTimeout: v.optional(bounded(1, 3600), d.proxy.uploadTimeout),
  /**
   * What is sent to the next origin after an attempt that may have reached its origin (core/failover/replay-rule.ts):
   * `safe` idempotent methods only, `keyed` also requests with an `Idempotency-Key`, `always` anything.
   */
  replay: v.optional(oneOf(REPLAY_POLICIES), d.proxy.replay),
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
export type FailoverMode = (typeof FAILOVER_MODES)[number];
export type SelectionAlgorithm = (typeof ALGORITHMS)[number];
export type AffinityConfig = Config['affinity'];
export type HealthConfig = Config['health'];
export type ProxyConfig = Config['proxy'];
