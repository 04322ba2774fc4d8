/**
 * Property-based tests of configuration parsing.
 *
 * The oracle is the documented contract (README, "Configuration"), written out again here: valid
 * configurations are generated from those rules, invalid ones are a valid configuration with exactly
 * one documented rule broken, and neither is ever checked against the schema itself.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig, parseConfigText, type ConfigParseResult } from '../../worker/core/config/config-parse';
import { compileRoutingTable, originUrl } from '../../worker/core/routing/routing-table';

// ---------------------------------------------------------------------------------------------------
// The documented rules
// ---------------------------------------------------------------------------------------------------

/** The defaults of the README's configuration table. */
const DEFAULTS = {
  origin: { weight: 1, state: 'active' },
  affinity: {
    cookie: '__affinity',
    ttl: 82_800,
    key: 'random',
    algorithm: 'rendezvous',
    failover: 'sticky',
    sameSite: 'Lax',
    decisionHeader: false,
    decisionLog: 'changes',
    learn: [],
    handoff: false,
    lifetime: 'persistent',
  },
  health: { path: '/', interval: 10, timeout: 2, rise: 2, fall: 2 },
  proxy: { timeout: 30, attempts: 3, bodyTimeout: 10, uploadTimeout: 300, replay: 'safe' },
} as const;

const MAX_ORIGINS = 1000;
const MAX_COOKIE_AGE = 34_560_000;
const STATES = ['active', 'draining', 'disabled'];
const ALGORITHMS = ['rendezvous', 'ring'];
const FAILOVER_MODES = ['sticky', 'none'];
const SAME_SITE_VALUES = ['Lax', 'Strict', 'None'];
const DECISION_LOG_MODES = ['all', 'changes'];
const REPLAY_POLICIES = ['safe', 'keyed', 'always'];
const COOKIE_LIFETIMES = ['persistent', 'browser'];
const MAX_LEARNED_NAMES = 4;

const ORIGIN_KEYS = ['id', 'url', 'weight', 'state'];
const AFFINITY_KEYS = [
  'cookie',
  'ttl',
  'key',
  'algorithm',
  'failover',
  'sameSite',
  'decisionHeader',
  'decisionLog',
  'learn',
  'balanceFactor',
  'handoff',
  'rebalance',
  'maxAge',
  'lifetime',
];
const REBALANCE_KEYS = ['rate'];
const HEALTH_KEYS = ['path', 'interval', 'timeout', 'rise', 'fall'];
const PROXY_KEYS = ['timeout', 'attempts', 'bodyTimeout', 'uploadTimeout', 'replay'];
const ROOT_KEYS = ['origins', 'affinity', 'health', 'proxy'];

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-';
/** RFC 6265 §4.1.1 cookie-name = RFC 2616 token: any CHAR but CTLs and separators. */
const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SEPARATORS = '()<>@,;:\\"/[]?={} \t';

interface OriginInput {
  id: string;
  url: string;
  weight?: number;
  state?: string;
}
interface ConfigInput {
  origins: OriginInput[];
  affinity?: Record<string, unknown>;
  health?: Record<string, unknown>;
  proxy?: Record<string, unknown>;
}

type Json = unknown;
type Plain = Record<string, unknown>;

const isPlainObject = (value: unknown): value is Plain =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const has = (object: Plain, key: string) => Object.hasOwn(object, key);
const isNumberIn = (value: unknown, min: number, max: number) =>
  typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;
const isIntegerIn = (value: unknown, min: number, max: number) =>
  isNumberIn(value, min, max) && Number.isInteger(value);
const isToken = (value: unknown) => typeof value === 'string' && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value);

/** Inside an origin URL: what a URL parser would delete (tab, CR, LF), strip or encode (controls) or turn into "/". */
const REWRITTEN_CHAR = /[\u0000-\u001f\u007f\\]/;

/**
 * Surrounding whitespace aside: an absolute http:/https: URL with an authority and an optional path
 * prefix, no credentials, query or fragment, and nothing a URL parser would silently rewrite.
 */
function isOriginUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const written = value.trim();
  if (REWRITTEN_CHAR.test(written) || !/^https?:\/\/[^/?#@]+(\/[^?#]*)?$/i.test(written)) return false;
  try {
    new URL(written);
    return true;
  } catch {
    return false;
  }
}

/** The README's normal form of an accepted origin URL: as the URL parser writes it, without trailing slashes. */
function normalOriginUrl(written: string): string {
  const url = new URL(written.trim());
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** Every message the configuration's problems may carry, one per broken rule. */
const MESSAGES = {
  notAnObject: 'must be an object',
  required: 'is required',
  notAString: 'must be a string',
  id: 'must be 1 to 64 characters from A-Z a-z 0-9 . _ -',
  url: 'must be an absolute http: or https: URL (a path prefix is allowed; no credentials, query or fragment)',
  urlRewritten:
    'must not contain tabs, line breaks, other control characters or backslashes (a URL parser drops them or reads "\\" as "/")',
  weight: 'must be a number from 0 to 1000',
  state: 'must be one of "active", "draining", "disabled"',
  origins: 'must be an array of origins',
  noOrigins: 'must list at least one origin',
  tooManyOrigins: 'must list at most 1000 origins',
  cookie: 'must be a cookie name (an RFC 6265 token)',
  ttl: 'must be an integer from 1 to 34560000',
  key: 'must be "random", "ip", "header:<name>" or "cookie:<name>"',
  algorithm: 'must be one of "rendezvous", "ring"',
  failover: 'must be one of "sticky", "none"',
  sameSite: 'must be one of "Lax", "Strict", "None"',
  decisionHeader: 'must be true or false',
  decisionLog: 'must be one of "all", "changes"',
  balanceFactor: 'must be a number of at least 1 (1.25 is typical)',
  learn: 'must be an array of "header:<name>" or "cookie:<name>" entries',
  learnedName: 'must be "header:<name>" or "cookie:<name>" (an RFC 9110 token)',
  learnedCookieHeader: 'must not be the Cookie or Set-Cookie header: learn a cookie as "cookie:<name>"',
  tooManyLearned: 'must list at most 4 names',
  healthPath: 'must be a path starting with "/" (a query is allowed)',
  interval: 'must be a number from 1 to 3600',
  probeTimeout: 'must be a number from 0.1 to 60',
  riseOrFall: 'must be an integer from 1 to 10',
  proxyTimeout: 'must be a number from 0.1 to 300',
  attempts: 'must be an integer from 1 to 10',
  bodyTimeout: 'must be a number from 0.1 to 300',
  uploadTimeout: 'must be a number from 1 to 3600',
  replay: 'must be one of "safe", "keyed", "always"',
  handoff: 'must be true or false',
  rebalanceRate: 'must be a number from 0.01 to 1000',
  rebalanceWithoutHandoff: 'needs "handoff": true: only sessions that carry their sealed state are moved',
  maxAge: 'must be an integer from 1 to 34560000',
  lifetime: 'must be one of "persistent", "browser"',
} as const;
const unknownKeyMessage = (key: string) => `is not a known setting (unknown key ${JSON.stringify(key)})`;
const duplicateIdMessage = (id: string) => `duplicates the id "${id}" of an earlier origin`;
const learnedTwiceMessage = (label: string) => `names "${label}" a second time`;
const learnedAffinityCookieMessage = (cookie: string) =>
  `must not name the affinity cookie "${cookie}": the worker keeps that cookie from origins`;
const learnedStateCookieMessage = (cookie: string) =>
  `must not name the state cookie "${cookie}_state": the worker keeps that cookie from origins`;

/** Whether `message` is one of the messages above, or an unknown key's or a duplicate id's. */
function isDocumentedMessage(message: string): boolean {
  return (
    (Object.values(MESSAGES) as string[]).includes(message) ||
    /^is not a known setting \(unknown key "(?:[^"\\]|\\.)*"\)$/s.test(message) ||
    /^duplicates the id "[A-Za-z0-9._-]{1,64}" of an earlier origin$/.test(message) ||
    /^names "(header|cookie):[!#$%&'*+\-.^_`|~0-9A-Za-z]+" a second time$/.test(message) ||
    /^must not name the (affinity|state) cookie "[!#$%&'*+\-.^_`|~0-9A-Za-z]+": the worker keeps that cookie from origins$/.test(
      message,
    )
  );
}

function isSessionKey(value: unknown): boolean {
  if (value === 'random' || value === 'ip') return true;
  if (typeof value !== 'string') return false;
  const match = /^(header|cookie):(.*)$/s.exec(value);
  return match !== null && isToken(match[2]);
}

/** A learned name as the contract states it: `header:<token>` or `cookie:<token>`. */
const isLearnedName = (value: unknown) =>
  typeof value === 'string' && /^(header|cookie):/.test(value) && isToken(value.slice(value.indexOf(':') + 1));
/** What a learned name is known by: header names are case-insensitive (RFC 9110), cookie names are not (RFC 6265). */
const learnedLabel = (entry: string) => (entry.startsWith('header:') ? entry.toLowerCase() : entry);

/**
 * `affinity.learn`: at most four names, each `header:<name>` or `cookie:<name>` but not the Cookie or
 * Set-Cookie header, none named twice, and never the affinity cookie itself.
 */
function isLearnList(learn: unknown, affinityCookie: unknown): boolean {
  if (!Array.isArray(learn) || learn.length > MAX_LEARNED_NAMES) return false;
  const entries = Array.from(learn);
  if (!entries.every(isLearnedName)) return false;
  const labels = entries.map((entry) => learnedLabel(entry as string));
  const cookieHeaders = labels.some((label) => label === 'header:cookie' || label === 'header:set-cookie');
  const namesCookie =
    typeof affinityCookie === 'string' &&
    (labels.includes(`cookie:${affinityCookie}`) || labels.includes(`cookie:${affinityCookie}_state`));
  return !cookieHeaders && !namesCookie && new Set(labels).size === labels.length;
}

/** An object that has only `keys`, each of them absent or satisfying its rule. */
function isSection(value: unknown, rules: Record<string, (v: unknown) => boolean>): boolean {
  if (!isPlainObject(value)) return false;
  return Object.keys(value).every((key) => Object.hasOwn(rules, key) && rules[key]!(value[key]));
}

/** Whether the README's rules accept `input`, written without the schema. */
function followsTheRules(input: unknown): boolean {
  if (!isPlainObject(input) || !has(input, 'origins')) return false;
  const sections: Record<string, (v: unknown) => boolean> = {
    origins: (origins) =>
      Array.isArray(origins) &&
      origins.length >= 1 &&
      origins.length <= MAX_ORIGINS &&
      Array.from(origins).every(
        (origin) =>
          isPlainObject(origin) &&
          has(origin, 'id') &&
          has(origin, 'url') &&
          isSection(origin, {
            id: (id) => typeof id === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(id),
            url: isOriginUrl,
            weight: (weight) => isNumberIn(weight, 0, 1000),
            state: (state) => STATES.includes(state as string),
          }),
      ) &&
      new Set(origins.map((origin: Plain) => origin.id)).size === origins.length,
    affinity: (affinity) =>
      isSection(affinity, {
        learn: (learn) => isLearnList(learn, (affinity as Plain).cookie ?? DEFAULTS.affinity.cookie),
        cookie: isToken,
        ttl: (ttl) => isIntegerIn(ttl, 1, MAX_COOKIE_AGE),
        key: isSessionKey,
        algorithm: (algorithm) => ALGORITHMS.includes(algorithm as string),
        failover: (failover) => FAILOVER_MODES.includes(failover as string),
        sameSite: (sameSite) => SAME_SITE_VALUES.includes(sameSite as string),
        decisionHeader: (flag) => typeof flag === 'boolean',
        decisionLog: (mode) => DECISION_LOG_MODES.includes(mode as string),
        // Documented: an optional number ≥ 1, no upper limit; being a number in JSON, a finite one.
        balanceFactor: (factor) => typeof factor === 'number' && Number.isFinite(factor) && factor >= 1,
        handoff: (flag) => typeof flag === 'boolean',
        // Documented: an object with a rate from 0.01 to 1000, and only with handoff on.
        rebalance: (rebalance) =>
          isSection(rebalance, { rate: (rate) => isNumberIn(rate, 0.01, 1000) }) &&
          has(rebalance as Plain, 'rate') &&
          (affinity as Plain).handoff === true,
        maxAge: (maxAge) => isIntegerIn(maxAge, 1, MAX_COOKIE_AGE),
        lifetime: (lifetime) => COOKIE_LIFETIMES.includes(lifetime as string),
      }),
    health: (health) =>
      isSection(health, {
        // Documented: starts with "/". Being a path, it also has no whitespace or fragment and a sane length.
        path: (path) => typeof path === 'string' && /^\/[^\s#]*$/.test(path) && path.length <= 2048,
        interval: (interval) => isNumberIn(interval, 1, 3600),
        timeout: (timeout) => isNumberIn(timeout, 0.1, 60),
        rise: (rise) => isIntegerIn(rise, 1, 10),
        fall: (fall) => isIntegerIn(fall, 1, 10),
      }),
    proxy: (proxy) =>
      isSection(proxy, {
        timeout: (timeout) => isNumberIn(timeout, 0.1, 300),
        attempts: (attempts) => isIntegerIn(attempts, 1, 10),
        bodyTimeout: (bodyTimeout) => isNumberIn(bodyTimeout, 0.1, 300),
        uploadTimeout: (uploadTimeout) => isNumberIn(uploadTimeout, 1, 3600),
        replay: (policy) => REPLAY_POLICIES.includes(policy as string),
      }),
  };
  return isSection(input, sections);
}

/** What a valid configuration must come out as: the given values kept, every default filled in. */
function withDefaults(input: ConfigInput) {
  return {
    origins: input.origins.map((origin) => ({ ...DEFAULTS.origin, ...origin, url: normalOriginUrl(origin.url) })),
    affinity: { ...DEFAULTS.affinity, ...input.affinity },
    health: { ...DEFAULTS.health, ...input.health },
    proxy: { ...DEFAULTS.proxy, ...input.proxy },
  };
}

/** The README's path notation: `origins[1].url`, `affinity.key`, `(root)`. */
function pathOf(keys: readonly (string | number)[]): string {
  if (keys.length === 0) return '(root)';
  const step = (key: string | number, i: number) =>
    typeof key === 'number'
      ? `[${key}]`
      : !/^[A-Za-z_$][\w$]*$/.test(key)
        ? `[${JSON.stringify(key)}]`
        : i === 0
          ? key
          : `.${key}`;
  return keys.map(step).join('');
}

/** The path of every value in a JSON document, `(root)` included, in the README's notation. */
function pathsIn(input: unknown, at: (string | number)[] = [], paths = new Set<string>()): Set<string> {
  paths.add(pathOf(at));
  if (Array.isArray(input)) input.forEach((item, i) => pathsIn(item, [...at, i], paths));
  else if (isPlainObject(input)) for (const key of Object.keys(input)) pathsIn(input[key], [...at, key], paths);
  return paths;
}

/** Where a required key's problem points: the object that lacks it (`origins[0].id` → `origins[0]`). */
const holderOf = (path: string) => path.replace(/\.?(?:origins|id|url|rate)$/, '') || '(root)';

// ---------------------------------------------------------------------------------------------------
// Valid configurations
// ---------------------------------------------------------------------------------------------------

const chars = (alphabet: string) => fc.constantFrom(...alphabet);
const idArb = fc.oneof(
  fc.string({ unit: chars(ID_CHARS), minLength: 1, maxLength: 64 }),
  fc.string({ unit: chars(ID_CHARS), minLength: 64, maxLength: 64 }),
);
const tokenArb = fc.oneof(
  fc.string({ unit: chars(TOKEN_CHARS), minLength: 1, maxLength: 24 }),
  fc.constantFrom('__Host-session', '__Secure-sid', 'x-user-id', 'JSESSIONID'),
);
const segmentArb = fc.string({
  unit: chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-'),
  minLength: 1,
  maxLength: 12,
});
const hostArb = fc.oneof(
  fc.domain().filter((host) => !host.split('.').some((label) => label.startsWith('xn--'))),
  fc.ipV4(),
  fc.ipV6().map((address) => `[${address}]`),
  fc.constantFrom('localhost', '127.0.0.1', 'app-1.internal.example.com'),
);
/** Whitespace around a URL, which the README says is ignored. */
const surroundingArb = fc.constantFrom('', '', '', ' ', '\t', '\n', ' \r\n');
/** Segments that leave a path where it was: "." and a step down and back up. */
const detourArb = fc.constantFrom('', '', '/.', '/x/..', '/%2e', '/q/%2E%2e');
const urlArb = fc
  .record({
    scheme: fc.constantFrom('http', 'https', 'HTTPS', 'Http'),
    host: hostArb,
    port: fc.option(fc.oneof(fc.integer({ min: 1, max: 65_535 }), fc.constantFrom(80, 443)), { nil: undefined }),
    prefix: fc.array(segmentArb, { maxLength: 4 }),
    detour: detourArb,
    trailingSlash: fc.boolean(),
    before: surroundingArb,
    after: surroundingArb,
  })
  .map(({ scheme, host, port, prefix, detour, trailingSlash, before, after }) => {
    const path = prefix.map((segment) => `/${segment}`).join('') + detour + (trailingSlash ? '/' : '');
    return `${before}${scheme}://${host}${port === undefined ? '' : `:${port}`}${path}${after}`;
  });

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443 };
/**
 * An origin URL in the README's normal form, built from its parts, and one of the many ways of
 * writing it that mean the same: surrounding whitespace, any case of scheme and host, the default
 * port spelt out, dot segments, trailing slashes.
 */
const spelledUrlArb = fc
  .record({
    scheme: fc.constantFrom('http', 'https'),
    host: fc.oneof(
      fc.domain().filter((host) => !host.split('.').some((label) => label.startsWith('xn--'))),
      fc.ipV4(),
      fc.constantFrom('localhost', '[::1]', '[2001:db8::7]', 'app-1.internal.example.com'),
    ),
    port: fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }),
    // No segment starts with a dot: Node's URL parser (ada) then leaves a later ".." unresolved
    // (ada-url/ada#935, "/a/.b/x/.." stays as it is); workerd, which runs the worker, resolves it.
    segments: fc.array(
      segmentArb.filter((segment) => !segment.startsWith('.')),
      { maxLength: 4 },
    ),
    upperScheme: fc.boolean(),
    upperHost: fc.boolean(),
    spellDefaultPort: fc.boolean(),
    detourAt: fc.nat(),
    detour: detourArb,
    trailingSlashes: fc.nat({ max: 3 }),
    before: surroundingArb,
    after: surroundingArb,
  })
  .map((parts) => {
    const { scheme, host, segments } = parts;
    const port = parts.port === DEFAULT_PORTS[scheme] ? undefined : parts.port;
    const normal = `${scheme}://${host}${port === undefined ? '' : `:${port}`}${segments.map((s) => `/${s}`).join('')}`;
    const writtenPort = port ?? (parts.spellDefaultPort ? DEFAULT_PORTS[scheme] : undefined);
    const at = parts.detourAt % (segments.length + 1);
    const path = [
      ...segments.slice(0, at).map((s) => `/${s}`),
      parts.detour,
      ...segments.slice(at).map((s) => `/${s}`),
    ];
    const written =
      parts.before +
      (parts.upperScheme ? scheme.toUpperCase() : scheme) +
      '://' +
      (parts.upperHost ? host.toUpperCase() : host) +
      (writtenPort === undefined ? '' : `:${writtenPort}`) +
      path.join('') +
      '/'.repeat(parts.trailingSlashes) +
      parts.after;
    return { written, normal };
  });
const weightArb = fc.oneof(
  fc.constantFrom(0, 1000, 1, 0.5, Number.MIN_VALUE),
  fc.integer({ min: 0, max: 1000 }),
  fc.double({ min: 0, max: 1000, noNaN: true }),
);
/** A valid value for each field of an origin. */
const ORIGIN_VALUES = { id: idArb, url: urlArb, weight: weightArb, state: fc.constantFrom(...STATES) };
const originArb: fc.Arbitrary<OriginInput> = fc.record(ORIGIN_VALUES, { requiredKeys: ['id', 'url'] });
const originsArb = (minLength: number, maxLength: number) =>
  fc.uniqueArray(originArb, { selector: (origin) => origin.id, minLength, maxLength });

/** Learned names; a header's case varies, as an operator may write it. */
const learnedNameArb = fc
  .tuple(fc.constantFrom('header', 'cookie'), tokenArb, fc.boolean())
  .map(([kind, name, upper]) => `${kind}:${kind === 'header' && upper ? name.toUpperCase() : name}`)
  .filter((entry) => !['header:cookie', 'header:set-cookie'].includes(entry.toLowerCase()));
const learnArb = fc.uniqueArray(learnedNameArb, { maxLength: MAX_LEARNED_NAMES, selector: learnedLabel });
/** A learn list without the affinity cookie's own name, which would break a rule. */
const withoutCookie = (learn: string[], cookie: unknown) => {
  const name = String(cookie ?? DEFAULTS.affinity.cookie);
  return learn.filter((entry) => entry !== `cookie:${name}` && entry !== `cookie:${name}_state`);
};

const between = (min: number, max: number) => fc.oneof(fc.constantFrom(min, max), fc.double({ min, max, noNaN: true }));
/** Any number from 1 up: the typical values, and very large ones (no upper limit is documented). */
const balanceFactorArb = fc.oneof(
  fc.constantFrom(1, 1.25, 1.5, 2),
  fc.double({ min: 1, max: 1e12, noNaN: true, noDefaultInfinity: true }),
);
const sessionKeyArb = fc.oneof(
  fc.constantFrom('random', 'ip'),
  tokenArb.map((name) => `header:${name}`),
  tokenArb.map((name) => `cookie:${name}`),
);
/** A valid value for each `affinity` field. */
const AFFINITY_VALUES = {
  cookie: tokenArb,
  ttl: fc.integer({ min: 1, max: MAX_COOKIE_AGE }),
  key: sessionKeyArb,
  algorithm: fc.constantFrom(...ALGORITHMS),
  failover: fc.constantFrom(...FAILOVER_MODES),
  sameSite: fc.constantFrom(...SAME_SITE_VALUES),
  decisionHeader: fc.boolean(),
  decisionLog: fc.constantFrom(...DECISION_LOG_MODES),
  learn: learnArb,
  balanceFactor: balanceFactorArb,
  handoff: fc.boolean(),
  rebalance: fc.record({ rate: between(0.01, 1000) }),
  maxAge: fc.oneof(fc.constantFrom(1, MAX_COOKIE_AGE), fc.integer({ min: 1, max: MAX_COOKIE_AGE })),
  lifetime: fc.constantFrom(...COOKIE_LIFETIMES),
};
const affinityArb = fc
  .record(
    // The ttl's bounds themselves as often as the values between them.
    { ...AFFINITY_VALUES, ttl: fc.oneof(fc.constantFrom(1, MAX_COOKIE_AGE), AFFINITY_VALUES.ttl) },
    { requiredKeys: [] },
  )
  .map((affinity) =>
    affinity.learn ? { ...affinity, learn: withoutCookie(affinity.learn, affinity.cookie) } : affinity,
  )
  // Rebalancing moves only sessions that carry a state: it comes with handoff.
  .map((affinity) => (affinity.rebalance ? { ...affinity, handoff: true } : affinity));
const healthPathArb = fc
  .tuple(
    fc.array(segmentArb, { maxLength: 3 }),
    fc.boolean(),
    fc.option(fc.constantFrom('?probe=1', '?a=b&c'), { nil: '' }),
  )
  .map(
    ([segments, trailingSlash, query]) =>
      `/${segments.join('/')}${trailingSlash && segments.length ? '/' : ''}${query}`,
  );
/** A valid value for each `health` field. */
const HEALTH_VALUES = {
  path: healthPathArb,
  interval: between(1, 3600),
  timeout: between(0.1, 60),
  rise: fc.integer({ min: 1, max: 10 }),
  fall: fc.integer({ min: 1, max: 10 }),
};
const healthArb = fc.record(HEALTH_VALUES, { requiredKeys: [] });
/** A valid value for each `proxy` field. */
const PROXY_VALUES = {
  timeout: between(0.1, 300),
  attempts: fc.integer({ min: 1, max: 10 }),
  bodyTimeout: between(0.1, 300),
  uploadTimeout: between(1, 3600),
  replay: fc.constantFrom(...REPLAY_POLICIES),
};
const proxyArb = fc.record(PROXY_VALUES, { requiredKeys: [] });
const configArb = (minOrigins = 1, maxOrigins = 8): fc.Arbitrary<ConfigInput> =>
  fc.record(
    { origins: originsArb(minOrigins, maxOrigins), affinity: affinityArb, health: healthArb, proxy: proxyArb },
    { requiredKeys: ['origins'] },
  );

// ---------------------------------------------------------------------------------------------------
// One broken rule
// ---------------------------------------------------------------------------------------------------

interface Mutation {
  /** What was broken, for the failure report. */
  rule: string;
  input: unknown;
  /** Exactly what parsing must answer: the broken field, in the README's notation, and that rule's message. */
  problems: { path: string; message: string }[];
}

const REMOVE = Symbol('remove');

/** A deep copy of `config` with the value at `keys` replaced (missing sections are created empty). */
function withField(config: ConfigInput, keys: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(config) as unknown as Plain;
  let parent: Plain = copy;
  for (const key of keys.slice(0, -1)) {
    if (parent[key] === undefined) parent[key] = {};
    parent = parent[key] as Plain;
  }
  const last = keys.at(-1)!;
  if (value === REMOVE) delete parent[last];
  // defineProperty, so that a key such as "__proto__" becomes an own property, as JSON.parse makes it.
  else Object.defineProperty(parent, last, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

const notANumberArb = fc.oneof(
  fc.constantFrom<Json>('1', '0', '', '10', true, false, null, [], {}, [1], { value: 1 }),
  fc.string(),
);
/** Anything but a number in [min, max] (an integer there when `integer`). */
function badNumberArb(min: number, max: number, integer: boolean): fc.Arbitrary<unknown> {
  const arbs: fc.Arbitrary<unknown>[] = [
    fc.constantFrom(min - 1, max + 1, -min, NaN, Infinity, -Infinity, Number.MAX_VALUE, -Number.MAX_VALUE),
    fc.double({ max: min, maxExcluded: true }).filter((n) => !(n >= min)),
    fc.double({ min: max, minExcluded: true }).filter((n) => !(n <= max)),
    notANumberArb,
  ];
  if (integer) arbs.push(fc.double({ min, max, noNaN: true, noInteger: true }), fc.constant(min + 0.5));
  const valid = integer ? isIntegerIn : isNumberIn;
  return fc.oneof(...arbs).filter((value) => !valid(value, min, max));
}
/** Anything but a finite number of at least `min`. */
function badAtLeastArb(min: number): fc.Arbitrary<unknown> {
  return fc
    .oneof(
      fc.constantFrom(min - 1, min - Number.EPSILON, 0, -min, NaN, Infinity, -Infinity, -Number.MAX_VALUE),
      fc.double({ max: min, maxExcluded: true }),
      notANumberArb,
    )
    .filter((value) => !(typeof value === 'number' && Number.isFinite(value) && value >= min));
}
const notAStringArb = fc.constantFrom<Json>(0, 1, true, null, [], {}, ['active'], { id: 'x' });
/** A string that is none of `options` (near misses first), or not a string at all. */
const badChoiceArb = (options: string[]) =>
  fc
    .oneof(
      fc.constantFrom('', ...options.flatMap((o) => [o.toUpperCase(), o.toLowerCase(), ` ${o}`, `${o} `, `${o}s`])),
      fc.string(),
      notAStringArb,
    )
    .filter((value) => !options.includes(value as string));
const notABooleanArb = fc.constantFrom<Json>('true', 'false', 1, 0, null, [], {}, 'yes');
const notAnObjectArb = fc.constantFrom<Json>(null, 0, 42, '', 'text', true, false, [1], ['origins']);
const notAnIdCharArb = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 1 })
  .filter((char) => !ID_CHARS.includes(char));
const notATokenCharArb = fc.oneof(
  chars(SEPARATORS),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((char) => !TOKEN_CHARS.includes(char)),
);
const withCharArb = (base: fc.Arbitrary<string>, char: fc.Arbitrary<string>) =>
  fc.tuple(base, char, fc.nat()).map(([text, c, at]) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + c + text.slice(i);
  });
const badIdArb = fc.oneof(
  fc.constant(''),
  fc.string({ unit: chars(ID_CHARS), minLength: 65, maxLength: 100 }),
  withCharArb(fc.string({ unit: chars(ID_CHARS), maxLength: 20 }), notAnIdCharArb),
);
const badTokenArb = fc.oneof(fc.constant(''), withCharArb(tokenArb, notATokenCharArb));
/** Strings that are not an origin URL by its form: scheme, authority, credentials, query, fragment. */
const badUrlArb = (written: string) => {
  const url = written.trim();
  const [scheme = 'http', rest = ''] = url.split('://');
  const host = rest.split('/')[0] ?? '';
  const path = rest.slice(host.length);
  return fc.oneof(
    // another scheme
    fc
      .constantFrom('ftp', 'ws', 'wss', 'file', 'gopher', 'httpx', 'htp', 'data', 'javascript')
      .map((other) => `${other}://${rest}`),
    fc.constantFrom('file:///etc/passwd', 'javascript:alert(1)', 'mailto:ops@example.com', 'data:text/plain,x'),
    // not absolute
    fc.constantFrom(
      '',
      '/',
      `/${rest}`,
      rest,
      `//${rest}`,
      'app-1.internal.example.com',
      `${scheme}:/`,
      `${scheme}://`,
    ),
    // credentials
    fc
      .constantFrom('user:pw@', 'user@', ':pw@', 'admin:admin@')
      .map((credentials) => `${scheme}://${credentials}${host}${path}`),
    // a query or a fragment
    fc
      .tuple(
        fc.constantFrom('?', '#', '/?', '/#'),
        fc.string({ unit: chars(ID_CHARS + '=&'), minLength: 1, maxLength: 12 }),
      )
      .map(([mark, text]) => `${url}${mark}${text}`),
    // not a URL at all
    fc.constantFrom(
      `${scheme}://exa mple.com`,
      `${scheme}://[::1`,
      `${scheme}://${host}:99999`,
      `${scheme}://${host}:port`,
    ),
  );
};
/** A valid origin URL with, inside it, a character that a URL parser would drop or rewrite. */
const rewrittenUrlArb = (written: string) => {
  const url = written.trim();
  return fc
    .tuple(fc.constantFrom('\t', '\n', '\r', '\u0000', '\u0001', '\u000b', '\f', '\u001f', '\u007f', '\\'), fc.nat())
    .map(([char, at]) => {
      const i = 1 + (at % (url.length - 1));
      return url.slice(0, i) + char + url.slice(i);
    });
};
const badSessionKeyArb = fc.oneof(
  fc.constantFrom('', 'Random', 'IP', 'query:x', 'header:', 'cookie:', 'header', 'cookie', 'header:a:b', 'path:/x'),
  fc.tuple(fc.constantFrom('header', 'cookie'), badTokenArb).map(([f, t]) => `${f}:${t}`),
  fc
    .tuple(
      fc.string().filter((f) => f !== 'header' && f !== 'cookie'),
      tokenArb,
    )
    .map(([f, t]) => `${f}:${t}`),
);
const badHealthPathArb = fc.oneof(
  fc.constantFrom('', 'health', 'healthz/', 'http://app/health', ' /health', '\\health'),
  fc.string({ minLength: 1 }).filter((path) => !path.startsWith('/')),
);
/** Keys the contract does not know, misspellings and Object.prototype names included. */
const unknownKeyArb = (known: string[]) =>
  fc
    .oneof(
      fc.constantFrom(
        'wieght',
        'weights',
        'ID',
        'Url',
        'name',
        'ttl ',
        '__proto__',
        'constructor',
        'toString',
        'hasOwnProperty',
      ),
      fc.string(),
    )
    .filter((key) => !known.includes(key));

const badLearnedNameArb = fc.oneof(
  fc.constantFrom('', 'header', 'cookie:', 'header:', 'query:sid', 'Header:x', 'COOKIE:sid', 'header:a:b', ':x'),
  badTokenArb.filter((t): t is string => typeof t === 'string').map((t) => `header:${t}`),
  badTokenArb.filter((t): t is string => typeof t === 'string').map((t) => `cookie:${t}`),
);
const cookieHeaderArb = fc.constantFrom('header:cookie', 'header:Set-Cookie', 'header:SET-COOKIE', 'header:Cookie');
const affinityCookieOf = (config: ConfigInput) => String(config.affinity?.cookie ?? DEFAULTS.affinity.cookie);
const learnOf = (config: ConfigInput) =>
  withoutCookie([...((config.affinity?.learn as string[] | undefined) ?? [])], affinityCookieOf(config));

/** The config's own learn list with `entry` put somewhere in it (at most four long), and the problem at its index. */
function learnWith(
  config: ConfigInput,
  rule: string,
  entry: fc.Arbitrary<unknown>,
  message: (entry: unknown) => string,
) {
  return fc.tuple(entry, fc.nat()).map(([bad, at]): Mutation => {
    const learn: unknown[] = learnOf(config).slice(0, MAX_LEARNED_NAMES - 1);
    const index = at % (learn.length + 1);
    learn.splice(index, 0, bad);
    return {
      rule,
      input: withField(config, ['affinity', 'learn'], learn),
      problems: [{ path: `affinity.learn[${index}]`, message: message(bad) }],
    };
  });
}

/** One of the list's names again, last (a header's in another case). */
function learnTwiceArb(config: ConfigInput): fc.Arbitrary<Mutation> {
  return fc.tuple(fc.boolean(), fc.nat()).map(([recase, at]): Mutation => {
    const learn = learnOf(config).slice(0, MAX_LEARNED_NAMES - 1);
    if (learn.length === 0) learn.push('header:x-session');
    const original = learn[at % learn.length]!;
    const again = recase && original.startsWith('header:') ? `header:${original.slice(7).toUpperCase()}` : original;
    return {
      rule: 'a learned name twice',
      input: withField(config, ['affinity', 'learn'], [...learn, again]),
      problems: [{ path: `affinity.learn[${learn.length}]`, message: learnedTwiceMessage(learnedLabel(again)) }],
    };
  });
}

/** Five to eight distinct, valid names. */
function tooManyLearnedArb(config: ConfigInput): fc.Arbitrary<Mutation> {
  return fc
    .uniqueArray(learnedNameArb, { minLength: 5, maxLength: 8, selector: learnedLabel })
    .map((learn) => withoutCookie(learn, affinityCookieOf(config)))
    .filter((learn) => learn.length > MAX_LEARNED_NAMES)
    .map((learn) => ({
      rule: 'more than 4 learned names',
      input: withField(config, ['affinity', 'learn'], learn),
      problems: [{ path: 'affinity.learn', message: MESSAGES.tooManyLearned }],
    }));
}

/** `config` with exactly one documented rule broken, and the one problem that must be reported for it. */
function mutationArb(config: ConfigInput): fc.Arbitrary<Mutation> {
  const n = config.origins.length;
  const set = (rule: string, keys: (string | number)[], values: fc.Arbitrary<unknown>, message: string) =>
    values.map((value): Mutation => ({
      rule,
      input: withField(config, keys, value),
      problems: [{ path: pathOf(keys), message }],
    }));
  const originIndex = fc.nat({ max: n - 1 });
  const perOrigin = (rule: string, key: string, values: (i: number) => fc.Arbitrary<unknown>, message: string) =>
    originIndex.chain((i) => set(rule, ['origins', i, key], values(i), message));
  const unknownKeyIn = (rule: string, at: (string | number)[], known: string[]) =>
    unknownKeyArb(known).chain((key) => set(rule, [...at, key], fc.jsonValue(), unknownKeyMessage(key)));

  const mutations: fc.Arbitrary<Mutation>[] = [
    // origins[]
    perOrigin('a broken id', 'id', () => badIdArb, MESSAGES.id),
    perOrigin('an id that is not a string', 'id', () => notAStringArb, MESSAGES.notAString),
    perOrigin('no id', 'id', () => fc.constant(REMOVE), MESSAGES.required),
    perOrigin(
      'a URL that is not an absolute http(s) URL without credentials, query or fragment',
      'url',
      (i) => badUrlArb(config.origins[i]!.url),
      MESSAGES.url,
    ),
    perOrigin(
      'a URL with a character a URL parser would drop or rewrite',
      'url',
      (i) => rewrittenUrlArb(config.origins[i]!.url),
      MESSAGES.urlRewritten,
    ),
    perOrigin('a URL that is not a string', 'url', () => notAStringArb, MESSAGES.notAString),
    perOrigin('no url', 'url', () => fc.constant(REMOVE), MESSAGES.required),
    perOrigin('a weight out of range or not a number', 'weight', () => badNumberArb(0, 1000, false), MESSAGES.weight),
    perOrigin('an unknown state', 'state', () => badChoiceArb(STATES), MESSAGES.state),
    originIndex.chain((i) => unknownKeyIn('an unknown key in an origin', ['origins', i], ORIGIN_KEYS)),
    originIndex.chain((i) =>
      set('an origin that is not an object', ['origins', i], notAnObjectArb, MESSAGES.notAnObject),
    ),
    // origins
    set('an empty origin list', ['origins'], fc.constant([]), MESSAGES.noOrigins),
    set('no origins', ['origins'], fc.constant(REMOVE), MESSAGES.required),
    set(
      'origins that are not a list',
      ['origins'],
      fc.constantFrom<Json>(null, {}, 'app-1', 1, { 0: config.origins[0] }),
      MESSAGES.origins,
    ),
    fc.integer({ min: MAX_ORIGINS + 1 - n, max: MAX_ORIGINS + 20 - n }).map((extra): Mutation => {
      const taken = new Set(config.origins.map((o) => o.id));
      const more: OriginInput[] = [];
      for (let k = 0; more.length < extra; k++) {
        if (!taken.has(`extra-${k}`)) more.push({ id: `extra-${k}`, url: `http://10.1.${k >> 8}.${k & 255}` });
      }
      return {
        rule: 'more than 1000 origins',
        input: { ...config, origins: [...config.origins, ...more] },
        problems: [{ path: 'origins', message: MESSAGES.tooManyOrigins }],
      };
    }),
    // affinity
    set('a cookie name that is not a token', ['affinity', 'cookie'], badTokenArb, MESSAGES.cookie),
    set('a cookie name that is not a string', ['affinity', 'cookie'], notAStringArb, MESSAGES.notAString),
    set(
      'a ttl that is not an integer from 1 to 34560000',
      ['affinity', 'ttl'],
      badNumberArb(1, MAX_COOKIE_AGE, true),
      MESSAGES.ttl,
    ),
    set('an unknown session key form', ['affinity', 'key'], badSessionKeyArb, MESSAGES.key),
    set('a session key that is not a string', ['affinity', 'key'], notAStringArb, MESSAGES.notAString),
    set('an unknown algorithm', ['affinity', 'algorithm'], badChoiceArb(ALGORITHMS), MESSAGES.algorithm),
    set('an unknown failover mode', ['affinity', 'failover'], badChoiceArb(FAILOVER_MODES), MESSAGES.failover),
    set('an unknown sameSite', ['affinity', 'sameSite'], badChoiceArb(SAME_SITE_VALUES), MESSAGES.sameSite),
    set(
      'a decisionHeader that is not a boolean',
      ['affinity', 'decisionHeader'],
      notABooleanArb,
      MESSAGES.decisionHeader,
    ),
    set(
      'an unknown decisionLog mode',
      ['affinity', 'decisionLog'],
      badChoiceArb(DECISION_LOG_MODES),
      MESSAGES.decisionLog,
    ),
    set(
      'a balance factor below 1, not finite or not a number',
      ['affinity', 'balanceFactor'],
      badAtLeastArb(1),
      MESSAGES.balanceFactor,
    ),
    set(
      'learn that is not a list',
      ['affinity', 'learn'],
      fc.constantFrom<Json>('header:x', null, 1, true, {}, { 0: 'header:x' }),
      MESSAGES.learn,
    ),
    learnWith(config, 'a learned name of an unknown form', badLearnedNameArb, () => MESSAGES.learnedName),
    learnWith(config, 'a learned name that is not a string', notAStringArb, () => MESSAGES.notAString),
    learnWith(config, 'the Cookie or Set-Cookie header learned', cookieHeaderArb, () => MESSAGES.learnedCookieHeader),
    learnTwiceArb(config),
    tooManyLearnedArb(config),
    learnWith(config, 'the affinity cookie learned', fc.constant(`cookie:${affinityCookieOf(config)}`), () =>
      learnedAffinityCookieMessage(affinityCookieOf(config)),
    ),
    learnWith(config, 'the state cookie learned', fc.constant(`cookie:${affinityCookieOf(config)}_state`), () =>
      learnedStateCookieMessage(affinityCookieOf(config)),
    ),
    // Without rebalance, which would add its own problem (it needs handoff on).
    set('a handoff that is not a boolean', ['affinity', 'handoff'], notABooleanArb, MESSAGES.handoff).map((m) => ({
      ...m,
      input: withField(m.input as ConfigInput, ['affinity', 'rebalance'], REMOVE),
    })),
    set(
      'a rebalance rate out of range',
      ['affinity', 'rebalance', 'rate'],
      badNumberArb(0.01, 1000, false),
      MESSAGES.rebalanceRate,
    ).map((m) => ({ ...m, input: withField(m.input as ConfigInput, ['affinity', 'handoff'], true) })),
    fc.constantFrom(false, REMOVE).map((handoff): Mutation => ({
      rule: 'rebalance without handoff',
      input: withField(
        withField(config, ['affinity', 'rebalance'], { rate: 1 }) as ConfigInput,
        ['affinity', 'handoff'],
        handoff,
      ),
      problems: [{ path: 'affinity.rebalance', message: MESSAGES.rebalanceWithoutHandoff }],
    })),
    set('a maxAge out of range', ['affinity', 'maxAge'], badNumberArb(1, MAX_COOKIE_AGE, true), MESSAGES.maxAge),
    set('an unknown lifetime', ['affinity', 'lifetime'], badChoiceArb(COOKIE_LIFETIMES), MESSAGES.lifetime),
    unknownKeyIn('an unknown affinity setting', ['affinity'], AFFINITY_KEYS),
    unknownKeyIn('an unknown rebalance setting', ['affinity', 'rebalance'], REBALANCE_KEYS).map((m) => ({
      ...m,
      input: withField(
        withField(m.input as ConfigInput, ['affinity', 'handoff'], true) as ConfigInput,
        ['affinity', 'rebalance', 'rate'],
        1,
      ),
    })),
    set('affinity that is not an object', ['affinity'], notAnObjectArb, MESSAGES.notAnObject),
    // health
    set('a probe path not starting with "/"', ['health', 'path'], badHealthPathArb, MESSAGES.healthPath),
    set('a probe path that is not a string', ['health', 'path'], notAStringArb, MESSAGES.notAString),
    set('an interval out of range', ['health', 'interval'], badNumberArb(1, 3600, false), MESSAGES.interval),
    set('a probe timeout out of range', ['health', 'timeout'], badNumberArb(0.1, 60, false), MESSAGES.probeTimeout),
    set('rise out of range', ['health', 'rise'], badNumberArb(1, 10, true), MESSAGES.riseOrFall),
    set('fall out of range', ['health', 'fall'], badNumberArb(1, 10, true), MESSAGES.riseOrFall),
    unknownKeyIn('an unknown health setting', ['health'], HEALTH_KEYS),
    set('health that is not an object', ['health'], notAnObjectArb, MESSAGES.notAnObject),
    // proxy
    set('a proxy timeout out of range', ['proxy', 'timeout'], badNumberArb(0.1, 300, false), MESSAGES.proxyTimeout),
    set('proxy attempts out of range', ['proxy', 'attempts'], badNumberArb(1, 10, true), MESSAGES.attempts),
    set('a body timeout out of range', ['proxy', 'bodyTimeout'], badNumberArb(0.1, 300, false), MESSAGES.bodyTimeout),
    set(
      'an upload timeout out of range',
      ['proxy', 'uploadTimeout'],
      badNumberArb(1, 3600, false),
      MESSAGES.uploadTimeout,
    ),
    set('an unknown replay policy', ['proxy', 'replay'], badChoiceArb(REPLAY_POLICIES), MESSAGES.replay),
    unknownKeyIn('an unknown proxy setting', ['proxy'], PROXY_KEYS),
    set('proxy that is not an object', ['proxy'], notAnObjectArb, MESSAGES.notAnObject),
    // the document
    unknownKeyIn('an unknown top-level key', [], ROOT_KEYS),
    fc.constantFrom<Json>(null, 42, 'text', true).map((input): Mutation => ({
      rule: 'not an object',
      input,
      problems: [{ path: '(root)', message: MESSAGES.notAnObject }],
    })),
  ];
  if (n >= 2) {
    mutations.push(
      fc.tuple(fc.integer({ min: 1, max: n - 1 }), fc.nat()).map(([later, earlier]): Mutation => {
        const id = config.origins[earlier % later]!.id;
        return {
          rule: 'a duplicate id',
          input: withField(config, ['origins', later, 'id'], id),
          problems: [{ path: pathOf(['origins', later]), message: duplicateIdMessage(id) }],
        };
      }),
    );
  }
  return fc.oneof(...mutations);
}

const mutatedConfigArb = configArb(1, 6).chain((config) => mutationArb(config));

// ---------------------------------------------------------------------------------------------------
// Almost right: arbitrary values plugged into the configuration's fields
// ---------------------------------------------------------------------------------------------------

const typicalWrongArb = fc.constantFrom<Json>(null, [], {}, '', 0, -1, true, 'x', [null]);
/** A field's own valid value, a typical wrong one, or any JSON value at all. */
const plug = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 3, arbitrary: valid },
    { weight: 1, arbitrary: typicalWrongArb },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );
const almostOriginArb = plug(
  fc.record(
    {
      id: plug(idArb),
      url: plug(urlArb),
      weight: plug(weightArb),
      state: plug(fc.constantFrom(...STATES)),
      extra: plug(fc.constant(1)),
    },
    { requiredKeys: [] },
  ),
);
const almostSection = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  plug(fc.record(Object.fromEntries(Object.entries(fields).map(([k, a]) => [k, plug(a)])), { requiredKeys: [] }));
const almostRightArb: fc.Arbitrary<unknown> = fc.record(
  {
    origins: plug(fc.array(almostOriginArb, { minLength: 1, maxLength: 4 })),
    affinity: almostSection(AFFINITY_VALUES),
    health: almostSection(HEALTH_VALUES),
    proxy: almostSection(PROXY_VALUES),
    extra: plug(fc.constant('unknown')),
  },
  { requiredKeys: [] },
);

/**
 * A copy of `input` with the value at `keys` set; unchanged when that would not be JSON (something on the
 * way is not an object, or a key would make an array sparse or give it a named property).
 */
function plugged(input: unknown, keys: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(input);
  const settable = (holder: unknown, key: string | number): holder is Plain =>
    typeof holder === 'object' &&
    holder !== null &&
    (!Array.isArray(holder) || (typeof key === 'number' && key <= holder.length));
  let parent: unknown = copy;
  for (const key of keys.slice(0, -1)) {
    if (!settable(parent, key)) return input;
    if (parent[key] === undefined) parent[key] = {};
    parent = parent[key];
  }
  const last = keys.at(-1)!;
  if (!settable(parent, last)) return input;
  Object.defineProperty(parent, last, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** Somewhere in `config` (an existing field, an absent optional one or an unknown one) and a value to put there. */
function plugArb(config: ConfigInput): fc.Arbitrary<{ keys: (string | number)[]; value: unknown }> {
  const at = (keys: fc.Arbitrary<(string | number)[]>, valid: fc.Arbitrary<unknown>) =>
    fc.tuple(keys, plug(valid)).map(([k, value]) => ({ keys: k, value }));
  const index = fc.nat({ max: config.origins.length - 1 });
  const sectionField = (section: string, values: Record<string, fc.Arbitrary<unknown>>) =>
    fc.constantFrom(...Object.keys(values)).chain((key) => at(fc.constant([section, key]), values[key]!));
  return fc.oneof(
    at(fc.constant(['origins']), originsArb(1, 3)),
    at(
      index.map((i) => ['origins', i]),
      originArb,
    ),
    ...Object.entries(ORIGIN_VALUES).map(([key, valid]) =>
      at(
        index.map((i) => ['origins', i, key]),
        valid,
      ),
    ),
    at(fc.constant(['affinity']), affinityArb),
    sectionField('affinity', AFFINITY_VALUES),
    at(fc.constant(['health']), healthArb),
    sectionField('health', HEALTH_VALUES),
    at(fc.constant(['proxy']), proxyArb),
    sectionField('proxy', PROXY_VALUES),
    at(
      fc.constantFrom(['extra'], ['affinity', 'extra'], ['health', 'extra'], ['proxy', 'extra']),
      fc.constant('unknown'),
    ),
    at(
      index.map((i) => ['origins', i, 'extra']),
      fc.constant('unknown'),
    ),
  );
}

/** A valid configuration with one to three of its fields replaced by a valid value, a typical wrong one or any JSON. */
const pluggedConfigArb: fc.Arbitrary<unknown> = configArb(1, 4).chain((config) =>
  fc
    .array(plugArb(config), { minLength: 1, maxLength: 3 })
    .map((plugs) => plugs.reduce<unknown>((input, { keys, value }) => plugged(input, keys, value), config)),
);

// ---------------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------------

/** parseConfig; a throw fails the property with the input that caused it. */
function parse(input: unknown): ConfigParseResult {
  const result = parseConfig(input);
  expect(typeof result.ok).toBe('boolean');
  return result;
}

/** A refusal lists at least one problem, each exactly {path, message}, both strings, the message not empty. */
function expectProblemList(result: ConfigParseResult): void {
  if (result.ok) return;
  expect(Array.isArray(result.problems)).toBe(true);
  expect(result.problems.length).toBeGreaterThan(0);
  for (const problem of result.problems) {
    expect(Object.keys(problem).sort()).toEqual(['message', 'path']);
    expect(typeof problem.path).toBe('string');
    expect(typeof problem.message).toBe('string');
    expect(problem.message.length).toBeGreaterThan(0);
  }
}

const anythingArb = fc.anything({
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withBigInt: true,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
  withNullPrototype: true,
  withObjectString: true,
  withUnicodeString: true,
});

describe('parseConfig and parseConfigText, on any input', () => {
  it('never throws on any JSON value, and accepts none that breaks the rules', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (input) => {
        const result = parse(input);
        expectProblemList(result);
        if (result.ok) expect(followsTheRules(input)).toBe(true);
        expect(parseConfigText(JSON.stringify(input))).toEqual(result);
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on any JavaScript value (Maps, Sets, boxed values, sparse arrays, null prototypes)', () => {
    fc.assert(
      fc.property(
        fc.oneof(anythingArb, fc.record({ origins: anythingArb }), fc.record({ origins: fc.array(anythingArb) })),
        (input) => expectProblemList(parse(input)),
      ),
      { numRuns: 1000 },
    );
  });

  it('never throws on any text, and reports text that is not JSON at (root)', () => {
    const textArb = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ unit: 'grapheme', maxLength: 200 }),
      fc.string({ unit: chars('{}[]":,0123456789.eE+-truefalsnl \n\\'), maxLength: 80 }),
      fc.jsonValue().map((value) => JSON.stringify(value)),
      almostRightArb.map((value) => JSON.stringify(value)),
    );
    fc.assert(
      fc.property(textArb, (text) => {
        const result = parseConfigText(text);
        expectProblemList(result);
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          expect(result).toEqual({
            ok: false,
            problems: [{ path: '(root)', message: expect.stringMatching(/^is not valid JSON/) }],
          });
          return;
        }
        expect(result).toEqual(parseConfig(json));
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on configurations that look almost right, and answers with a whole configuration or problems', () => {
    fc.assert(
      fc.property(fc.oneof(almostRightArb, pluggedConfigArb), (input) => {
        const result = parse(input);
        expectProblemList(result);
        if (result.ok) expect(Object.keys(result.config).sort()).toEqual(['affinity', 'health', 'origins', 'proxy']);
      }),
      { numRuns: 1000 },
    );
  });

  it('names every problem by a place in the document and one of the documented messages', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          almostRightArb,
          pluggedConfigArb,
          mutatedConfigArb.map((m) => m.input),
        ),
        (input) => {
          const result = parse(input);
          if (result.ok) return;
          const paths = pathsIn(input);
          for (const { path, message } of result.problems) {
            expect(isDocumentedMessage(message), `${path}: ${message}`).toBe(true);
            // A missing key's problem names the key, in an object that is there; any other names a value that is.
            if (message === MESSAGES.required) {
              expect(paths.has(path), `${path} is missing`).toBe(false);
              expect(paths.has(holderOf(path)), `${path} is in the document`).toBe(true);
            } else {
              expect(paths.has(path), `${path}: ${message}`).toBe(true);
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('parseConfig, on what it calls an unknown key', () => {
  /** Where the input has a key the contract does not know, in the README's path notation. */
  function unknownKeyPaths(input: unknown): Set<string> {
    const paths = new Set<string>();
    const collect = (value: unknown, at: (string | number)[], known: string[]) => {
      // An array is not an object here: it is refused as such, not for its "unknown keys" 0, 1...
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
      for (const key of Object.keys(value)) if (!known.includes(key)) paths.add(pathOf([...at, key]));
    };
    collect(input, [], ROOT_KEYS);
    if (!isPlainObject(input)) return paths;
    if (Array.isArray(input.origins)) {
      Array.from(input.origins).forEach((origin, i) => collect(origin, ['origins', i], ORIGIN_KEYS));
    }
    collect(input.affinity, ['affinity'], AFFINITY_KEYS);
    if (isPlainObject(input.affinity)) collect(input.affinity.rebalance, ['affinity', 'rebalance'], REBALANCE_KEYS);
    collect(input.health, ['health'], HEALTH_KEYS);
    collect(input.proxy, ['proxy'], PROXY_KEYS);
    return paths;
  }

  it('reports every unknown key the input has, and calls nothing else an unknown key', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          pluggedConfigArb,
          mutatedConfigArb.map((m) => m.input),
        ),
        (input) => {
          const result = parse(input);
          const expected = unknownKeyPaths(input);
          const reported = result.ok
            ? []
            : result.problems.filter((p) => / \(unknown key ".*"\)$/s.test(p.message)).map((p) => p.path);
          expect(
            reported.filter((path) => !expected.has(path)),
            'called unknown but not an unknown key',
          ).toEqual([]);
          expect(
            [...expected].filter((path) => !reported.includes(path)),
            'unknown keys not reported',
          ).toEqual([]);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it.each([
    ['(root)', null],
    ['origins[0]', { origins: [null] }],
    ['affinity', { origins: [{ id: 'app-1', url: 'https://app-1.example.com' }], affinity: 'sticky' }],
    ['health', { origins: [{ id: 'app-1', url: 'https://app-1.example.com' }], health: 10 }],
  ])('says that %s must be an object, instead of calling it an unknown key', (path, input) => {
    expect(parse(input)).toEqual({ ok: false, problems: [{ path, message: MESSAGES.notAnObject }] });
  });

  it.each([
    ['origins', {}],
    ['origins[0].id', { origins: [{ url: 'https://app-1.example.com' }] }],
    ['origins[0].url', { origins: [{ id: 'app-1' }] }],
  ])('says that the required %s is missing, instead of calling it an unknown key', (path, input) => {
    expect(parse(input)).toEqual({ ok: false, problems: [{ path, message: MESSAGES.required }] });
  });
});

describe('parseConfig, on valid configurations', () => {
  it('accepts every configuration that follows the rules, keeping each given value and filling in every default', () => {
    fc.assert(
      fc.property(configArb(), (input) => {
        expect(followsTheRules(input)).toBe(true);
        expect(parse(input)).toEqual({ ok: true, config: withDefaults(input) });
        expect(parseConfigText(JSON.stringify(input))).toEqual({ ok: true, config: withDefaults(input) });
      }),
      { numRuns: 500 },
    );
  });

  it('accepts the maximum of 1000 origins', () => {
    fc.assert(
      fc.property(configArb(MAX_ORIGINS, MAX_ORIGINS), (input) => {
        expect(input.origins).toHaveLength(MAX_ORIGINS);
        expect(parse(input)).toEqual({ ok: true, config: withDefaults(input) });
      }),
      // No shrinking: shrinking a thousand origins takes many minutes, and the first counterexample says enough.
      { numRuns: 3, endOnFailure: true },
    );
  });

  it('accepts a configuration with fields replaced exactly when the documented rules allow it', () => {
    fc.assert(
      fc.property(pluggedConfigArb, (input) => {
        expect(parse(input).ok).toBe(followsTheRules(input));
      }),
      { numRuns: 1500 },
    );
  });
});

describe('parseConfig, on origin URLs', () => {
  /** The URL stored for `url`, and the URLs that a request for /cart?item=1 and a probe of /health?probe=1 go to. */
  function inForce(config: Extract<ConfigParseResult, { ok: true }>['config']) {
    const table = compileRoutingTable(config);
    return {
      stored: config.origins[0]!.url,
      requested: new Request(originUrl(table.origins[0]!, '/cart?item=1')).url,
      probed: new Request(`${table.healthPlan.origins[0]!.url}/health?probe=1`).url,
    };
  }

  it('stores every spelling of an origin URL as its normal form, and requests and probes exactly that form', () => {
    fc.assert(
      fc.property(spelledUrlArb, ({ written, normal }) => {
        const result = parse({ origins: [{ id: 'app-1', url: written }] });
        expect(result.ok, JSON.stringify(written)).toBe(true);
        if (!result.ok) return;
        expect(inForce(result.config), JSON.stringify(written)).toEqual({
          stored: normal,
          requested: `${normal}/cart?item=1`,
          probed: `${normal}/health?probe=1`,
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('requests, for every origin URL it accepts, exactly the stored URL followed by the path, and stores a fixed point', () => {
    const oddArb = fc.constantFrom(
      ...[' ', '%', '%2e', '%2E%2e', '/..', '/.', '//', ':', '@', '?', '#', '"', '<', '`', '{', '|', '^', '[', ']'],
      ...['é', 'ß', 'Ａ', '\u00a0', '\u2028', '\ufeff', '\t', '\n', '\r', '\u0000', '\u007f', '\\'],
    );
    const textArb = fc.oneof(
      urlArb,
      spelledUrlArb.map(({ written }) => written),
      fc.webUrl({
        validSchemes: ['http', 'https'],
        authoritySettings: {
          withIPv4: true,
          withIPv6: true,
          withIPv4Extended: true,
          withPort: true,
          withUserInfo: true,
        },
      }),
      withCharArb(urlArb, oddArb),
      withCharArb(withCharArb(urlArb, oddArb), oddArb),
    );
    fc.assert(
      fc.property(textArb, (url) => {
        const result = parse({ origins: [{ id: 'app-1', url }] });
        expect(result.ok, JSON.stringify(url)).toBe(isOriginUrl(url));
        if (!result.ok) {
          const message = REWRITTEN_CHAR.test(url.trim()) ? MESSAGES.urlRewritten : MESSAGES.url;
          expect(result.problems).toEqual([{ path: 'origins[0].url', message }]);
          return;
        }
        const stored = normalOriginUrl(url);
        expect(inForce(result.config), JSON.stringify(url)).toEqual({
          stored,
          requested: `${stored}/cart?item=1`,
          probed: `${stored}/health?probe=1`,
        });
        expect(parse(JSON.parse(JSON.stringify(result.config)))).toEqual(result);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseConfig, on a valid configuration with one rule broken', () => {
  it('refuses it with exactly one problem: the broken field and the message of its rule', () => {
    fc.assert(
      fc.property(mutatedConfigArb, ({ rule, input, problems }) => {
        expect(followsTheRules(input), `the generator broke "${rule}"`).toBe(false);
        expect(parse(input), rule).toEqual({ ok: false, problems });
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses an origin URL with an empty query or fragment ("https://h/app?"), which would swallow the request path', () => {
    fc.assert(
      fc.property(
        configArb(1, 4).chain((config) =>
          fc.tuple(
            fc.constant(config),
            fc.nat({ max: config.origins.length - 1 }),
            fc.constantFrom('?', '#', '/?', '/#'),
          ),
        ),
        ([config, i, suffix]) => {
          const url = config.origins[i]!.url.trim() + suffix;
          expect(parse(withField(config, ['origins', i, 'url'], url)), url).toEqual({
            ok: false,
            problems: [{ path: `origins[${i}].url`, message: MESSAGES.url }],
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it.each(['affinity', 'health', 'proxy'])('refuses an empty array where the %s object belongs', (section) => {
    const result = parse({ origins: [{ id: 'app-1', url: 'https://app-1.internal.example.com' }], [section]: [] });
    expect(result).toEqual({ ok: false, problems: [{ path: section, message: MESSAGES.notAnObject }] });
  });

  it('names an unknown top-level key "" by a path that shows it', () => {
    const result = parse({ origins: [{ id: 'app-1', url: 'https://app-1.internal.example.com' }], '': 1 });
    expect(result).toEqual({ ok: false, problems: [{ path: '[""]', message: unknownKeyMessage('') }] });
  });
});
