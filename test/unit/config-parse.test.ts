import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS } from '../../worker/core/config/config-schema';
import { formatPath, parseConfig, parseConfigText } from '../../worker/core/config/config-parse';
import { compileRoutingTable, originUrl } from '../../worker/core/routing/routing-table';

const minimal = { origins: [{ id: 'app-1', url: 'https://app-1.internal.example.com' }] };

function problemsOf(input: unknown) {
  const result = parseConfig(input);
  if (result.ok) throw new Error('expected the configuration to be refused');
  return result.problems;
}

describe('parseConfig', () => {
  it('fills in every default for a minimal configuration', () => {
    const result = parseConfig(minimal);
    expect(result).toEqual({
      ok: true,
      config: {
        origins: [{ id: 'app-1', url: 'https://app-1.internal.example.com', weight: 1, state: 'active' }],
        affinity: { ...CONFIG_DEFAULTS.affinity },
        health: { ...CONFIG_DEFAULTS.health },
        proxy: { ...CONFIG_DEFAULTS.proxy },
      },
    });
  });

  it('accepts the example configuration of the contract', () => {
    const result = parseConfig({
      origins: [
        { id: 'app-1', url: 'https://app-1.internal.example.com', weight: 1, state: 'active' },
        { id: 'app-2', url: 'https://app-2.internal.example.com', weight: 2 },
      ],
      affinity: { cookie: '__affinity', ttl: 82800, key: 'random', algorithm: 'rendezvous', failover: 'sticky' },
      health: { path: '/', interval: 10, timeout: 2, rise: 2, fall: 2 },
    });
    expect(result.ok).toBe(true);
  });

  it('accepts every session key form and a path prefix in an origin URL', () => {
    for (const key of ['random', 'ip', 'header:x-user-id', 'cookie:session_id']) {
      const result = parseConfig({
        origins: [{ id: 'a.b_c-1', url: 'http://10.0.0.1:8080/app/', weight: 0, state: 'draining' }],
        affinity: { key, algorithm: 'ring', failover: 'none' },
      });
      expect(result.ok, key).toBe(true);
    }
  });

  it('lists every problem at once, each with its field path', () => {
    const problems = problemsOf({
      origins: [
        { id: 'bad id!', url: 'ftp://x', weight: 1001, state: 'paused' },
        { id: 'ok', url: 'https://ok.example.com', weight: -1 },
        { id: 'ok', url: 'not a url' },
      ],
      affinity: { key: 'query:x', algorithm: 'maglev', ttl: 1.5 },
      health: { interval: 0, rise: 0 },
    });
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'origins[0].id',
        'origins[0].url',
        'origins[0].weight',
        'origins[0].state',
        'origins[1].weight',
        'origins[2].url',
        'origins[2]',
        'affinity.key',
        'affinity.algorithm',
        'affinity.ttl',
        'health.interval',
        'health.rise',
      ]),
    );
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    expect(byPath['origins[0].url']).toMatch(/http: or https:/);
    expect(byPath['origins[0].state']).toMatch(/"active", "draining", "disabled"/);
    expect(byPath['origins[2]']).toMatch(/duplicates the id "ok"/);
    expect(byPath['affinity.key']).toMatch(/header:<name>/);
  });

  it('accepts up to four learned names, header names in any case', () => {
    const learn = ['header:Mcp-Session-Id', 'cookie:JSESSIONID', 'cookie:jsessionid', 'header:x-session'];
    const result = parseConfig({ ...minimal, affinity: { learn } });
    expect(result.ok && result.config.affinity.learn).toEqual(learn);
  });

  it('says what is wrong with each learned name, at its index', () => {
    const problems = problemsOf({
      ...minimal,
      affinity: { learn: ['header:x-session', 'query:sid', 'header:X-Session', 'header:Set-Cookie'] },
    });
    expect(problems).toEqual([
      { path: 'affinity.learn[1]', message: 'must be "header:<name>" or "cookie:<name>" (an RFC 9110 token)' },
      {
        path: 'affinity.learn[3]',
        message: 'must not be the Cookie or Set-Cookie header: learn a cookie as "cookie:<name>"',
      },
      { path: 'affinity.learn[2]', message: 'names "header:x-session" a second time' },
    ]);
    expect(problemsOf({ ...minimal, affinity: { learn: 'header:x' } })).toEqual([
      { path: 'affinity.learn', message: 'must be an array of "header:<name>" or "cookie:<name>" entries' },
    ]);
    const five = ['header:a', 'header:b', 'header:c', 'header:d', 'header:e'];
    expect(problemsOf({ ...minimal, affinity: { learn: five } })).toEqual([
      { path: 'affinity.learn', message: 'must list at most 4 names' },
    ]);
  });

  it('refuses to learn the affinity cookie itself, under its default or configured name', () => {
    const message = (name: string) =>
      `must not name the affinity cookie "${name}": the worker keeps that cookie from origins`;
    expect(problemsOf({ ...minimal, affinity: { learn: ['header:x', 'cookie:__affinity'] } })).toEqual([
      { path: 'affinity.learn[1]', message: message('__affinity') },
    ]);
    expect(problemsOf({ ...minimal, affinity: { cookie: 'pin', learn: ['cookie:pin'] } })).toEqual([
      { path: 'affinity.learn[0]', message: message('pin') },
    ]);
    expect(parseConfig({ ...minimal, affinity: { cookie: 'pin', learn: ['cookie:__affinity'] } }).ok).toBe(true);
  });

  it('takes an optional balance factor of at least 1, absent by default, and compiles it for routing', () => {
    const off = parseConfig(minimal);
    expect(off.ok && 'balanceFactor' in off.config.affinity).toBe(false);
    expect(off.ok && compileRoutingTable(off.config).balanceFactor).toBeUndefined();
    for (const factor of [1, 1.25, 40]) {
      const on = parseConfig({ ...minimal, affinity: { balanceFactor: factor } });
      expect(on.ok && compileRoutingTable(on.config).balanceFactor).toBe(factor);
    }
    for (const factor of [0.99, 0, -1.25, '1.25', null, 1e400]) {
      expect(problemsOf({ ...minimal, affinity: { balanceFactor: factor } }), String(factor)).toEqual([
        { path: 'affinity.balanceFactor', message: 'must be a number of at least 1 (1.25 is typical)' },
      ]);
    }
  });

  it('refuses an empty origin list and more than 1000 origins', () => {
    expect(problemsOf({ origins: [] })).toEqual([{ path: 'origins', message: 'must list at least one origin' }]);
    const many = Array.from({ length: 1001 }, (_, i) => ({ id: `o${i}`, url: `http://10.0.${i >> 8}.${i & 255}` }));
    expect(problemsOf({ origins: many })[0]!.message).toMatch(/at most 1000/);
  });

  it('refuses unknown keys instead of ignoring a misspelt setting', () => {
    const problems = problemsOf({ origins: [{ id: 'a', url: 'http://a', wieght: 2 }], afinity: {} });
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'origins[0].wieght', message: 'is not a known setting (unknown key "wieght")' },
        { path: 'afinity', message: 'is not a known setting (unknown key "afinity")' },
      ]),
    );
  });

  it('refuses origin URLs with credentials, a query or a fragment', () => {
    for (const url of ['https://user:pw@a.example', 'https://a.example/?x=1', 'https://a.example/#x', '/relative']) {
      expect(problemsOf({ origins: [{ id: 'a', url }] })[0]!.path, url).toBe('origins[0].url');
    }
  });

  it('refuses values of the wrong type without throwing', () => {
    for (const input of [null, 42, 'text', [], { origins: 'x' }, { origins: [null] }, { origins: [{}] }]) {
      expect(parseConfig(input).ok).toBe(false);
    }
  });
});

describe('origin URLs', () => {
  /** The URL in force for `url`, and the URLs a request for /cart?item=1 and a probe of /health go to. */
  function inForce(url: string) {
    const result = parseConfig({ origins: [{ id: 'app-1', url }], health: { path: '/health' } });
    if (!result.ok) throw new Error(`refused ${JSON.stringify(url)}: ${result.problems[0]!.message}`);
    const table = compileRoutingTable(result.config);
    return {
      stored: result.config.origins[0]!.url,
      requested: new Request(originUrl(table.origins[0]!, '/cart?item=1')).url,
      probed: new Request(table.healthPlan.origins[0]!.url + result.config.health.path).url,
    };
  }

  it.each([
    ['surrounding whitespace', 'https://h/app ', 'https://h/app'],
    ['a line break after it', '\thttps://h/app\n', 'https://h/app'],
    ['a dot-dot segment', 'https://h/app/..', 'https://h'],
    ['dot segments inside the prefix', 'https://h/a/./b/../c/', 'https://h/a/c'],
    [
      'the case of scheme and host, and a default port',
      'HTTPS://App-1.Example.COM:443/Shop/',
      'https://app-1.example.com/Shop',
    ],
    ['trailing slashes', 'http://10.0.0.1:8080/app//', 'http://10.0.0.1:8080/app'],
    ['a bare host with a slash', 'http://localhost/', 'http://localhost'],
    ['a space inside the path', 'https://h/my app', 'https://h/my%20app'],
    ['an international host name', 'https://bücher.example/kasse', 'https://xn--bcher-kva.example/kasse'],
  ])('normalises %s, and requests and probes exactly the normal form', (_, written, normal) => {
    expect(inForce(written)).toEqual({
      stored: normal,
      requested: `${normal}/cart?item=1`,
      probed: `${normal}/health`,
    });
  });

  it('stores a fixed point: the configuration in force parses to itself', () => {
    const first = parseConfig({ origins: [{ id: 'app-1', url: ' HTTP://H:80/a/b/../c// ' }] });
    if (!first.ok) throw new Error('refused');
    expect(first.config.origins[0]!.url).toBe('http://h/a/c');
    expect(parseConfig(JSON.parse(JSON.stringify(first.config)))).toEqual(first);
  });

  const REWRITTEN =
    'must not contain tabs, line breaks, other control characters or backslashes (a URL parser drops them or reads "\\" as "/")';
  const FORM = 'must be an absolute http: or https: URL (a path prefix is allowed; no credentials, query or fragment)';

  it.each([
    ['a tab inside the path', 'https://h/a\tpp', REWRITTEN],
    ['a line break inside the path', 'https://h/app\n/x', REWRITTEN],
    ['a line break inside the host', 'https://h\r\n.example/app', REWRITTEN],
    ['a NUL character', 'https://h/app\u0000', REWRITTEN],
    ['a backslash for a slash', 'https://h\\app', REWRITTEN],
    ['a backslash in the path', 'https://h/app\\x', REWRITTEN],
    ['an empty user part', 'https://@h/app', FORM],
    ['no slashes after the scheme', 'https:h/app', FORM],
    ['three slashes after the scheme', 'https:///h/app', FORM],
    ['a space inside the host', 'https://exa mple.com', FORM],
  ])('refuses %s, which the URL parser would rewrite or cannot read', (_, url, message) => {
    expect(problemsOf({ origins: [{ id: 'app-1', url }] })).toEqual([{ path: 'origins[0].url', message }]);
  });
});

describe('parseConfigText', () => {
  it('reports text that is not JSON', () => {
    const result = parseConfigText('{"origins": [');
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.problems[0]).toMatchObject({ path: '(root)', message: expect.stringMatching(/not valid JSON/) });
  });
});

describe('formatPath', () => {
  it('writes paths the way a person points into JSON', () => {
    expect(formatPath(['origins', 3, 'url'])).toBe('origins[3].url');
    expect(formatPath([])).toBe('(root)');
  });
});
