/**
 * A session routed by an envelope behaves like a pinned session when its origin is down, drained,
 * disabled or removed, in strict mode, when its connection fails, and across a secret rotation.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { freshWorker, seedConfig, stubOrigins, type OriginBehaviour } from './support';

const ORIGINS = ['one', 'two', 'three', 'four'].map((name) => ({ id: name, url: `http://${name}` }));
const hostOf = (request: Request) => new URL(request.url).hostname;

/** An MCP-like origin: issues `Mcp-Session-Id` to a request without one, answers every request with it. */
function mcpServer(name: string): OriginBehaviour {
  return (request) => {
    const id = request.headers.get('mcp-session-id') ?? `${name}:${crypto.randomUUID()}`;
    return new Response(`served by ${name}`, { headers: { 'x-served-by': name, 'mcp-session-id': id } });
  };
}
const everyServer = () => Object.fromEntries(ORIGINS.map((o) => [o.id, mcpServer(o.id)]));

async function configure(affinity: Record<string, unknown> = {}, origins: object[] = ORIGINS) {
  await seedConfig({ origins, affinity: { learn: ['header:mcp-session-id'], decisionHeader: true, ...affinity } });
}

beforeEach(() => configure());
afterEach(() => vi.restoreAllMocks());

/** Opens an MCP session; returns its envelope, the origin that issued it and the value it issued. */
async function openSession(worker = freshWorker()) {
  const seen = stubOrigins(everyServer());
  const response = await worker.fetch('http://proxy.test/mcp', { method: 'POST', body: '{}' });
  const origin = response.headers.get('x-served-by')!;
  const value = `${origin}:`; // what the issuing origin's ids start with
  expect(seen).toHaveLength(1);
  return { envelope: response.headers.get('mcp-session-id')!, origin, value };
}

/** Opens sessions until `count` of them live on one origin. */
async function sessionsOnOneOrigin(count: number) {
  const byOrigin = new Map<string, Awaited<ReturnType<typeof openSession>>[]>();
  const worker = freshWorker();
  for (;;) {
    const session = await openSession(worker);
    const list = [...(byOrigin.get(session.origin) ?? []), session];
    byOrigin.set(session.origin, list);
    if (list.length === count) return list;
  }
}

function sendWith(envelope: string, worker = freshWorker()) {
  return worker.fetch('http://proxy.test/mcp', { method: 'POST', body: '{}', headers: { 'mcp-session-id': envelope } });
}

const decision = (response: Response) => response.headers.get('x-affinity-decision');

describe('when the envelope’s origin is down', () => {
  it('moves every request of the session, concurrent ones from different isolates included, to one survivor', async () => {
    const { envelope, origin } = await openSession();
    const seen = stubOrigins(everyServer());
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => {
        const worker = freshWorker();
        worker.monitor.unhealthy = [origin];
        return sendWith(envelope, worker);
      }),
    );
    const survivors = new Set(responses.map((r) => r.headers.get('x-served-by')));
    expect(survivors.size).toBe(1);
    expect(survivors.has(origin)).toBe(false);
    expect(decision(responses[0]!)).toMatch(/^repinned; origin=\S+; reason=unhealthy; cookie=absent; envelope=valid;/);
    expect(seen.map(hostOf)).not.toContain(origin);
  });

  it('sends the origin’s own value to the survivor, which answers as for a session it does not know', async () => {
    const { envelope, origin, value } = await openSession();
    const seen = stubOrigins(everyServer());
    const worker = freshWorker();
    worker.monitor.unhealthy = [origin];
    await sendWith(envelope, worker);
    expect(seen[0]!.headers.get('mcp-session-id')).toMatch(new RegExp(`^${value}`));
  });

  it('seals a value for the origin that sent it, even when that origin hands the session to another', async () => {
    const worker = freshWorker();
    stubOrigins({
      ...everyServer(),
      one: (request) => {
        const id = request.headers.get('mcp-session-id') ?? `one:${crypto.randomUUID()}`;
        return new Response('served by one', {
          headers: { 'x-served-by': 'one', 'mcp-session-id': id, 'affinity-control': 'repin=two' },
        });
      },
    });
    // Sessions opened until one of them lands on "one", which names "two" while issuing its value.
    let envelope: string | null = null;
    while (!envelope) {
      const response = await worker.fetch('http://proxy.test/mcp', { method: 'POST', body: '{}' });
      if (response.headers.get('x-served-by') === 'one') envelope = response.headers.get('mcp-session-id');
    }
    const seen = stubOrigins(everyServer());
    const next = await sendWith(envelope, worker);
    expect(next.headers.get('x-served-by')).toBe('one');
    expect(seen[0]!.headers.get('mcp-session-id')).toMatch(/^one:/);
  });

  it('spreads the sessions of a dead origin over the survivors, each along its own preference list', async () => {
    const sessions = await sessionsOnOneOrigin(12);
    stubOrigins(everyServer());
    const survivors = new Set<string | null>();
    for (const { envelope, origin } of sessions) {
      const worker = freshWorker();
      worker.monitor.unhealthy = [origin];
      survivors.add((await sendWith(envelope, worker)).headers.get('x-served-by'));
    }
    expect(survivors.size).toBeGreaterThan(1);
    expect(survivors.has(sessions[0]!.origin)).toBe(false);
  });

  it('retries a POST that Cloudflare could not get to the origin on the next origin, with the origin’s own value', async () => {
    const { envelope, origin, value } = await openSession();
    const unreachable = () => new Response('error code: 521', { status: 521 });
    const seen = stubOrigins({ ...everyServer(), [origin]: unreachable });
    const response = await sendWith(envelope);
    expect(response.status).toBe(200);
    expect(seen.map(hostOf)).toEqual([origin, response.headers.get('x-served-by')]);
    for (const request of seen) expect(request.headers.get('mcp-session-id')).toMatch(new RegExp(`^${value}`));
    expect(decision(response)).toMatch(/^repinned; origin=\S+; reason=cf-521; cookie=absent; envelope=valid;/);
  });

  it('does not send a POST whose connection broke to another origin (it may have run): 502, then the next request moves', async () => {
    const { envelope, origin } = await openSession();
    const seen = stubOrigins({ ...everyServer(), [origin]: 'refuse' });
    const worker = freshWorker();
    const response = await sendWith(envelope, worker);
    expect(response.status).toBe(502);
    expect(await response.text()).toMatch(/not idempotent/);
    expect(seen.map(hostOf)).toEqual([origin]);
    // This isolate now skips the origin: the session's next request goes to the next of its list.
    const next = await sendWith(envelope, worker);
    expect(next.status).toBe(200);
    expect(seen.map(hostOf)).toEqual([origin, next.headers.get('x-served-by')]);
  });

  it('with failover "none", answers 503 rather than move the session', async () => {
    await configure({ failover: 'none' });
    const { envelope, origin } = await openSession();
    const seen = stubOrigins({ ...everyServer(), [origin]: 'refuse' });
    expect((await sendWith(envelope)).status).toBe(503);
    expect(seen.map(hostOf)).toEqual([origin]);
    const worker = freshWorker();
    worker.monitor.unhealthy = [origin];
    expect((await sendWith(envelope, worker)).status).toBe(503);
    expect(seen.map(hostOf)).toEqual([origin]);
  });
});

describe('when the operator changes the envelope’s origin', () => {
  it('keeps routing the sessions of a draining origin there, and sends it no new ones', async () => {
    const { envelope, origin } = await openSession();
    await configure(
      {},
      ORIGINS.map((o) => (o.id === origin ? { ...o, state: 'draining' } : o)),
    );
    stubOrigins(everyServer());
    expect((await sendWith(envelope)).headers.get('x-served-by')).toBe(origin);
    const worker = freshWorker();
    for (let i = 0; i < 20; i++) expect((await openSession(worker)).origin).not.toBe(origin);
  });

  it('moves the sessions of a disabled origin', async () => {
    const { envelope, origin } = await openSession();
    await configure(
      {},
      ORIGINS.map((o) => (o.id === origin ? { ...o, state: 'disabled' } : o)),
    );
    stubOrigins(everyServer());
    const response = await sendWith(envelope);
    expect(response.headers.get('x-served-by')).not.toBe(origin);
    expect(decision(response)).toMatch(/^repinned; origin=\S+; reason=disabled; cookie=absent; envelope=valid;/);
  });

  it('moves the sessions of a removed origin to one survivor each, saying unknown-origin, with the origin’s own value', async () => {
    const { envelope, origin, value } = await openSession();
    await configure(
      {},
      ORIGINS.filter((o) => o.id !== origin),
    );
    const seen = stubOrigins(everyServer());
    const served = new Set<string | null>();
    for (let i = 0; i < 4; i++) {
      const response = await sendWith(envelope);
      served.add(response.headers.get('x-served-by'));
      expect(decision(response)).toMatch(
        /^repinned; origin=\S+; reason=removed; cookie=absent; envelope=unknown-origin;/,
      );
    }
    expect(served.size).toBe(1);
    for (const request of seen) expect(request.headers.get('mcp-session-id')).toMatch(new RegExp(`^${value}`));
  });
});

describe('a secret rotation', () => {
  const ROTATED = { AFFINITY_SECRET: 'a-brand-new-secret', AFFINITY_SECRET_PREVIOUS: 'integration-test-secret' };

  it('keeps routing envelopes sealed with the previous secret, and seals the next answer with the new one', async () => {
    const { envelope, origin } = await openSession();
    stubOrigins(everyServer());
    const rotated = await sendWith(envelope, freshWorker(ROTATED));
    expect(rotated.headers.get('x-served-by')).toBe(origin);
    expect(decision(rotated)).toMatch(/envelope=previous-key;/);
    const resealed = rotated.headers.get('mcp-session-id')!;
    expect(resealed).not.toBe(envelope);
    const retired = freshWorker({ AFFINITY_SECRET: 'a-brand-new-secret' });
    const after = await sendWith(resealed, retired);
    expect(after.headers.get('x-served-by')).toBe(origin);
    expect(decision(after)).toMatch(/envelope=valid;/);
  });

  it('passes an envelope of a retired secret through untouched, as a new session', async () => {
    const { envelope } = await openSession();
    const seen = stubOrigins(everyServer());
    const response = await sendWith(envelope, freshWorker({ AFFINITY_SECRET: 'a-brand-new-secret' }));
    expect(decision(response)).toMatch(/^new; .*envelope=tampered;/);
    expect(seen[0]!.headers.get('mcp-session-id')).toBe(envelope);
  });
});
