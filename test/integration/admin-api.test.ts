import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parsePrometheus, sampleValue } from '../support/prometheus-parser';
import { answersWith, freshWorker, seedConfig, stubOrigins, testEnv } from './support';

const TOKEN = 'integration-admin-token';
const ORIGINS = ['one', 'two', 'three'].map((id) => ({ id, url: `http://${id}` }));
const auth = { authorization: `Bearer ${TOKEN}` };

beforeEach(async () => {
  await seedConfig({ origins: ORIGINS });
  stubOrigins(Object.fromEntries(ORIGINS.map((o) => [o.id, answersWith(o.id)])));
});
afterEach(() => vi.restoreAllMocks());

const put = (worker: ReturnType<typeof freshWorker>, body: unknown, headers: Record<string, string> = {}) =>
  worker.fetch('http://proxy.test/_affinity/config', {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('admin authentication', () => {
  it('answers 404 on every admin route when no ADMIN_TOKEN is configured, and proxies none of them', async () => {
    const seen = stubOrigins(Object.fromEntries(ORIGINS.map((o) => [o.id, answersWith(o.id)])));
    const worker = freshWorker({ ADMIN_TOKEN: undefined });
    for (const path of ['/_affinity/config', '/_affinity/status', '/_affinity/anything', '/_affinity']) {
      expect((await worker.fetch(`http://proxy.test${path}`, { headers: auth })).status, path).toBe(404);
    }
    expect((await worker.fetch('http://proxy.test/_affinity/config', { method: 'PUT', body: '{}' })).status).toBe(404);
    expect(seen).toEqual([]);
  });

  it('answers every other spelling of the admin prefix as the admin API does, and proxies none of them', async () => {
    const seen = stubOrigins(Object.fromEntries(ORIGINS.map((o) => [o.id, answersWith(o.id)])));
    const worker = freshWorker();
    for (const path of ['/_AFFINITY/config', '/%5Faffinity/config', '/_affinity;/config', '//_affinity/config']) {
      expect((await worker.fetch(`http://proxy.test${path}`)).status, path).toBe(401);
      const read = await worker.fetch(`http://proxy.test${path}`, { headers: auth });
      expect(read.status, path).toBe(200);
      expect(((await read.json()) as { origins: unknown[] }).origins, path).toHaveLength(3);
    }
    expect((await worker.fetch('http://proxy.test/_Affinity/nothing-here', { headers: auth })).status).toBe(404);
    expect(seen).toEqual([]);
  });

  it.each([
    ['no Authorization header', {}],
    ['a wrong token', { authorization: 'Bearer not-the-token' }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['another scheme', { authorization: 'Token integration-admin-token' }],
    ['the token as Basic credentials', { authorization: `Basic ${btoa(`admin:${TOKEN}`)}` }],
  ])('answers 401 with a Bearer challenge to %s', async (_, headers) => {
    const worker = freshWorker();
    for (const [method, path] of [
      ['GET', '/_affinity/config'],
      ['PUT', '/_affinity/config'],
      ['GET', '/_affinity/status'],
    ] as const) {
      const response = await worker.fetch(`http://proxy.test${path}`, {
        method,
        headers,
        body: method === 'PUT' ? '{}' : undefined,
      });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="edge-affinity"');
    }
  });

  it('shows a browser the sign-in page, a form that posts the token, still with a 401 and a Bearer challenge', async () => {
    const worker = freshWorker();
    const response = await worker.fetch('http://proxy.test/_affinity/status', { headers: { accept: 'text/html' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="edge-affinity"');
    const html = await response.text();
    expect(html).toContain('<form id="sign-in" method="post" action="/_affinity/session">');
    expect(html).not.toContain('data-origin');
    const refused = await worker.fetch('http://proxy.test/_affinity/status', {
      headers: { accept: 'text/html', authorization: 'Bearer nope' },
    });
    expect(await refused.text()).toContain('That token was refused.');
  });

  it.each([
    ['status page', { ...auth, accept: 'text/html' }],
    ['sign-in page', { accept: 'text/html' }],
  ])('serves its %s with no script at all, unframeable, in a browsing context group of its own', async (_, headers) => {
    const response = await freshWorker().fetch('http://proxy.test/_affinity/status', { headers });
    const policy = response.headers.get('content-security-policy')!;
    expect(policy).toContain("default-src 'none'");
    expect(policy).not.toMatch(/script-src/);
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toContain("form-action 'self'");
    expect(response.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const html = await response.text();
    expect(html).not.toMatch(/<script|javascript:|\son[a-z]+=/i);
    const nonce = /style-src 'nonce-([^']+)'/.exec(policy)?.[1];
    expect(html).toContain(`<style nonce="${nonce}">`);
  });
});

describe('GET /_affinity/config', () => {
  it('returns the configuration in force, every default filled in, with an ETag', async () => {
    const response = await freshWorker().fetch('http://proxy.test/_affinity/config', { headers: auth });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    const config = (await response.json()) as { origins: unknown[]; affinity: { cookie: string } };
    expect(config.origins).toEqual(ORIGINS.map((o) => ({ ...o, weight: 1, state: 'active' })));
    expect(config.affinity.cookie).toBe('__affinity');
  });
});

describe('GET /_affinity/config without a good configuration', () => {
  it('says what is wrong with the one in KV', async () => {
    await seedConfig({ origins: [{ id: 'a', url: 'ftp://a' }] });
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const response = await freshWorker().fetch('http://proxy.test/_affinity/config', { headers: auth });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: 'the configuration under the KV key "config" is invalid',
      problems: [{ path: 'origins[0].url', message: expect.stringMatching(/http: or https:/) }],
    });
  });
});

describe('PUT /_affinity/config', () => {
  it.each([
    ['bad JSON', '{"origins": [', [{ path: '(root)', message: expect.stringMatching(/not valid JSON/) }]],
    ['an empty origin list', { origins: [] }, [{ path: 'origins', message: 'must list at least one origin' }]],
    [
      'a non-http(s) URL',
      { origins: [{ id: 'a', url: 'ftp://a' }] },
      [{ path: 'origins[0].url', message: expect.stringMatching(/http: or https:/) }],
    ],
    [
      'duplicate ids',
      {
        origins: [
          { id: 'a', url: 'http://a' },
          { id: 'a', url: 'http://b' },
        ],
      },
      [{ path: 'origins[1]', message: expect.stringMatching(/duplicates the id "a"/) }],
    ],
    [
      'a bad id',
      { origins: [{ id: 'no spaces', url: 'http://a' }] },
      [{ path: 'origins[0].id', message: expect.stringMatching(/1 to 64 characters/) }],
    ],
    [
      'a weight out of range',
      { origins: [{ id: 'a', url: 'http://a', weight: 1001 }] },
      [{ path: 'origins[0].weight', message: 'must be a number from 0 to 1000' }],
    ],
    [
      'an unknown state',
      { origins: [{ id: 'a', url: 'http://a', state: 'paused' }] },
      [{ path: 'origins[0].state', message: expect.stringMatching(/must be one of/) }],
    ],
    [
      'an unknown key',
      { origins: [{ id: 'a', url: 'http://a' }], affinity: { key: 'query:x' } },
      [{ path: 'affinity.key', message: expect.stringMatching(/header:<name>/) }],
    ],
  ])('refuses %s with 400, lists the problems and stores nothing', async (_, body, problems) => {
    const before = await testEnv.ORIGINS.get('config');
    const response = await put(freshWorker(), body);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'invalid configuration', problems });
    expect(await testEnv.ORIGINS.get('config')).toBe(before);
  });

  it('lists every problem of a configuration at once', async () => {
    const response = await put(freshWorker(), {
      origins: [{ id: 'a b', url: 'ftp://x', weight: -1, state: 'off' }],
      health: { interval: 0 },
    });
    const { problems } = (await response.json()) as { problems: { path: string }[] };
    expect(problems.map((p) => p.path).sort()).toEqual([
      'health.interval',
      'origins[0].id',
      'origins[0].state',
      'origins[0].url',
      'origins[0].weight',
    ]);
  });

  it('stores a valid configuration in KV, applies it here at once and tells the health monitor', async () => {
    const worker = freshWorker();
    const next = { origins: [{ id: 'four', url: 'http://four' }], health: { interval: 5 } };
    stubOrigins({ four: answersWith('four') });
    const response = await put(worker, next);
    expect(response.status).toBe(200);
    const stored = JSON.parse((await testEnv.ORIGINS.get('config'))!);
    expect(stored).toEqual(await response.json());
    expect(stored.origins).toEqual([{ id: 'four', url: 'http://four', weight: 1, state: 'active' }]);
    expect((await worker.fetch('http://proxy.test/')).headers.get('x-served-by')).toBe('four');
    expect(worker.monitor.configured).toEqual([await testEnv.ORIGINS.get('config')]);
  });

  it('refuses to overwrite a configuration changed since it was read (If-Match)', async () => {
    const worker = freshWorker();
    const read = await worker.fetch('http://proxy.test/_affinity/config', { headers: auth });
    const etag = read.headers.get('etag')!;
    const theirs = JSON.stringify({ origins: [{ id: 'someone-else', url: 'http://else' }] });
    await seedConfig(theirs);
    expect((await put(worker, { origins: ORIGINS }, { 'if-match': etag })).status).toBe(412);
    // The other writer's value stands, byte for byte, and nobody was told of the refused one.
    expect(await testEnv.ORIGINS.get('config')).toBe(theirs);
    expect(worker.monitor.configured).toEqual([]);
    const fresh = await freshWorker().fetch('http://proxy.test/_affinity/config', { headers: auth });
    expect((await put(worker, { origins: ORIGINS }, { 'if-match': fresh.headers.get('etag')! })).status).toBe(200);
  });

  it('answers 503 and stores nothing when the stored configuration cannot be read to check If-Match', async () => {
    const worker = freshWorker();
    const read = await worker.fetch('http://proxy.test/_affinity/config', { headers: auth });
    const before = await testEnv.ORIGINS.get('config');
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(testEnv.ORIGINS, 'get').mockRejectedValueOnce(new Error('KV unavailable'));
    const response = await put(worker, { origins: ORIGINS.slice(0, 1) }, { 'if-match': read.headers.get('etag')! });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      error: 'the stored configuration could not be read to check If-Match; nothing changed',
    });
    expect(await testEnv.ORIGINS.get('config')).toBe(before);
    expect(JSON.parse(String(errors.mock.calls[0]![0]))).toMatchObject({
      event: 'config.read-failed',
      reader: 'if-match',
      error: 'KV unavailable',
    });
  });

  it('refuses a body over 1 MiB', async () => {
    expect((await put(freshWorker(), 'x'.repeat(1024 * 1024 + 1))).status).toBe(413);
  });
});

describe('GET /_affinity/status', () => {
  it('returns every origin with state, weight, health, last probe, latency, last error and share as JSON', async () => {
    const worker = freshWorker();
    worker.monitor.records = {
      one: { state: 'healthy', successes: 2, failures: 0, lastProbeAt: 1_000, latencyMs: 7, changedAt: 0 },
      two: {
        state: 'unhealthy',
        successes: 0,
        failures: 2,
        lastProbeAt: 2_000,
        lastError: 'HTTP 502',
        changedAt: 2_000,
      },
    };
    const response = await worker.fetch('http://proxy.test/_affinity/status', { headers: auth });
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const report = (await response.json()) as { origins: Record<string, unknown>[]; config: unknown };
    const { headers } = await worker.fetch('http://proxy.test/_affinity/config', { headers: auth });
    expect(report.config).toEqual({
      inForce: { source: 'kv', appliedAt: expect.any(String), etag: headers.get('etag'), lastGood: null },
      kv: { ok: true },
    });
    expect(report.origins).toEqual([
      expect.objectContaining({
        id: 'one',
        state: 'active',
        weight: 1,
        health: 'healthy',
        lastProbe: '1970-01-01T00:00:01.000Z',
        latencyMs: 7,
        newSessionShare: 0.5,
      }),
      expect.objectContaining({ id: 'two', health: 'unhealthy', lastError: 'HTTP 502', newSessionShare: 0 }),
      expect.objectContaining({ id: 'three', health: 'unknown', lastProbe: null, newSessionShare: 0.5 }),
    ]);
  });

  it('renders an HTML page for clients that ask for it', async () => {
    const response = await freshWorker().fetch('http://proxy.test/_affinity/status', {
      headers: { ...auth, accept: 'text/html' },
    });
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    const html = await response.text();
    expect(html).toContain('refreshes every 5 s');
    expect(html).toContain('<meta http-equiv="refresh" content="5"/>');
    for (const origin of ORIGINS) expect(html).toContain(`data-origin="${origin.id}"`);
  });
});

describe('a fresh isolate while KV holds a bad value, with a last good configuration kept by the monitor', () => {
  const KEPT = { origins: ORIGINS.slice(0, 2) };
  const ADOPTED_AT = Date.UTC(2026, 0, 2, 3, 4, 5);

  async function freshWorkerOnLastGood() {
    await seedConfig({ origins: [{ id: 'one', url: 'ftp://one' }] });
    vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const worker = freshWorker();
    worker.monitor.lastGood = { text: JSON.stringify(KEPT), source: 'admin', adoptedAt: ADOPTED_AT };
    return worker;
  }

  it('returns the last good configuration in force from GET /_affinity/config, with its ETag', async () => {
    const worker = await freshWorkerOnLastGood();
    const response = await worker.fetch('http://proxy.test/_affinity/config', { headers: auth });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { origins: { id: string }[] }).origins.map((o) => o.id)).toEqual(['one', 'two']);
    const status = await worker.fetch('http://proxy.test/_affinity/status', { headers: auth });
    const { config } = (await status.json()) as { config: { inForce: { etag: string } } };
    expect(response.headers.get('etag')).toBe(config.inForce.etag);
  });

  it('says in the status which configuration is in force and why', async () => {
    const worker = await freshWorkerOnLastGood();
    const response = await worker.fetch('http://proxy.test/_affinity/status', { headers: auth });
    const { config } = (await response.json()) as { config: unknown };
    expect(config).toEqual({
      inForce: {
        source: 'last-good',
        appliedAt: expect.any(String),
        etag: expect.any(String),
        lastGood: { source: 'admin', adoptedAt: '2026-01-02T03:04:05.000Z' },
      },
      kv: {
        ok: false,
        failure: 'invalid',
        problems: [{ path: 'origins[0].url', message: expect.stringMatching(/http: or https:/) }],
        since: expect.any(String),
      },
    });
  });

  it('says it on the status page too', async () => {
    const worker = await freshWorkerOnLastGood();
    const response = await worker.fetch('http://proxy.test/_affinity/status', {
      headers: { ...auth, accept: 'text/html' },
    });
    const html = await response.text();
    expect(html).toMatch(
      /id="config">Configuration the last good one, kept by the health monitor \(stored by the admin API, adopted 2026-01-02 03:04:05 UTC\) · applied [^<]+ UTC · ETag &quot;[A-Za-z0-9_-]{22}&quot;</,
    );
    expect(html).toContain(
      'The configuration in KV was refused (1 problem(s)); the last good one stays in force. First: origins[0].url',
    );
    for (const id of ['one', 'two']) expect(html).toContain(`data-origin="${id}"`);
    expect(html).not.toContain('data-origin="three"');
  });

  it('says it in the metrics, for an alerting rule: the KV value is invalid, the last good one serves', async () => {
    const worker = await freshWorkerOnLastGood();
    expect((await worker.fetch('http://proxy.test/')).status).toBe(200);
    const response = await worker.fetch('http://proxy.test/_affinity/metrics', { headers: auth });
    const families = parsePrometheus(await response.text());
    const kv = (state: string) => sampleValue(families, 'edge_affinity_config_kv_status', { state });
    expect([kv('invalid'), kv('ok'), kv('missing'), kv('unreadable')]).toEqual([1, 0, 0, 0]);
    expect(sampleValue(families, 'edge_affinity_origin_weight', { origin: 'two' })).toBe(1); // the kept one
  });
});
