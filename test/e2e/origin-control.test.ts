/**
 * `Affinity-Control` end to end: the bundled worker in front of real origins on 127.0.0.1 that say it
 * from their own responses — a logout handler, a hand-over, a replay, a shutdown hook's drain.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client, openSessions } from './support/client';
import { awaitDecisions } from './support/decision-log';
import { EchoOrigin } from './support/echo-origin';
import { DEFAULT_SECRETS, WorkerUnderTest } from './support/worker-under-test';
import { until } from '../support/wait';
import { claimsOf } from '../support/affinity-claims';

const IDS = ['app-1', 'app-2', 'app-3'];
const HEALTH = { path: '/health', interval: 1, timeout: 1, rise: 2, fall: 2 };
const auth = { authorization: `Bearer ${DEFAULT_SECRETS.ADMIN_TOKEN}` };
const SECRET = DEFAULT_SECRETS.AFFINITY_SECRET!;

let origins: EchoOrigin[];
let worker: WorkerUnderTest;
const byId = (id: string) => origins.find((o) => o.id === id)!;
const other = (id: string) => IDS.find((candidate) => candidate !== id)!;

beforeAll(async () => {
  origins = await Promise.all(IDS.map((id) => EchoOrigin.start(id)));
  worker = await WorkerUnderTest.start({
    config: { origins: origins.map((o) => ({ id: o.id, url: o.url })), health: HEALTH },
  });
});
afterEach(() => {
  for (const origin of origins) origin.says = () => undefined;
});
afterAll(async () => {
  await worker?.dispose();
  await Promise.all(origins.map((o) => o.stop()));
});

/** A session pinned to some origin, and that origin. */
async function session(path = '/') {
  const client = new Client(worker);
  const { echo } = await client.echo(path);
  return { client, origin: echo.origin };
}

describe('an application steering its sessions', () => {
  it('ends the pin from its logout handler: the cookie is deleted, and the next request is a new session', async () => {
    for (const origin of origins) origin.says = (url) => (url.startsWith('/logout') ? 'release' : undefined);
    const { client, origin } = await session();
    const { sessionId } = await claimsOf(client.affinityToken!, SECRET);
    const mark = worker.logs.length;
    const logout = await client.echo('/logout');
    expect(logout.echo.origin).toBe(origin);
    expect(logout.response.headers.has('affinity-control')).toBe(false);
    expect(logout.affinitySetCookie).toBe('__affinity=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax');
    expect(client.affinityToken).toBeUndefined();
    const [released] = await awaitDecisions(worker.logs, mark, 1, (d) => d.path === '/logout');
    expect(released).toMatchObject({ decision: 'pinned', origin, control: ['release'] });
    const next = await client.echo('/after-logout');
    expect(next.affinitySetCookie).toBeDefined();
    expect((await claimsOf(client.affinityToken!, SECRET)).sessionId, 'a new session').not.toBe(sessionId);
    const [fresh] = await awaitDecisions(worker.logs, mark, 1, (d) => d.path === '/after-logout');
    expect(fresh).toMatchObject({ decision: 'new', cookie: 'absent' });
  });

  it('re-pins a session its origin handed over to another, which serves it from the next request on', async () => {
    const { client, origin } = await session();
    const to = other(origin);
    byId(origin).says = (url) => (url.startsWith('/hand-over') ? `repin=${to}` : undefined);
    const handing = await client.echo('/hand-over');
    expect(handing.echo.origin).toBe(origin);
    expect((await claimsOf(client.affinityToken!, SECRET)).originId).toBe(to);
    for (let i = 0; i < 5; i++) expect((await client.echo(`/after/${i}`)).echo.origin).toBe(to);
  });

  it('replays a POST on the origin named, its body intact, drops the first answer, and pins the session there', async () => {
    const { client, origin } = await session();
    const to = other(origin);
    byId(origin).says = (url) => (url.startsWith('/checkout') ? `replay=${to}` : undefined);
    const body = JSON.stringify({
      cart: Array.from({ length: 200 }, (_, i) => ({ sku: `item-${i}`, quantity: i % 7 })),
    });
    const mark = worker.logs.length;
    const { echo, response } = await client.echo('/checkout', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(echo).toMatchObject({ origin: to, method: 'POST', bodyLength: Buffer.byteLength(body) });
    const received = byId(to)
      .seen.filter((r) => r.url === '/checkout')
      .at(-1)!;
    expect(received.body.toString()).toBe(body);
    expect(
      byId(origin)
        .seen.filter((r) => r.url === '/checkout')
        .at(-1)!
        .body.toString(),
    ).toBe(body);
    expect(response.headers.has('affinity-control')).toBe(false);
    expect((await claimsOf(client.affinityToken!, SECRET)).originId).toBe(to);
    const [replayed] = await awaitDecisions(worker.logs, mark, 1, (d) => d.path === '/checkout');
    expect(replayed).toMatchObject({ origin: to, decision: 'repinned', reason: 'replay', replayedFrom: origin });
    expect((await client.echo('/')).echo.origin).toBe(to);
  });
});

describe('an origin draining itself (a shutdown hook)', () => {
  it('gets no new sessions within seconds, keeps its pinned ones, and takes new ones again after ready', async () => {
    const sessions = await openSessions(worker, 30);
    const pinned = sessions.filter((s) => s.origin === 'app-2');
    expect(pinned.length).toBeGreaterThan(0);
    byId('app-2').says = () => 'drain';
    const saidAt = Date.now();
    await pinned[0]!.client.echo('/');
    const reacted = await until(
      'no new session on the draining origin',
      async () => (await openSessions(worker, 20)).every((s) => s.origin !== 'app-2') && Date.now() - saidAt,
      { timeoutMs: 5_000, everyMs: 0 },
    );
    console.info(`drain: new sessions stopped going to the origin ${reacted} ms after it said drain`);
    expect((await openSessions(worker, 40)).filter((s) => s.origin === 'app-2')).toEqual([]);
    for (const s of pinned) expect((await s.client.echo('/')).echo.origin).toBe('app-2');
    const described = await (await worker.fetch('/_affinity/origins/app-2', { headers: auth })).json();
    expect(described).toMatchObject({ state: 'draining', stateSetBy: 'origin', configured: { state: 'active' } });

    byId('app-2').says = () => 'ready';
    // Its pinned session carries the word (reported at most once a second) until new sessions come back.
    await until(
      'a new session on app-2 after it said ready',
      async () => {
        await pinned[0]!.client.echo('/');
        return (await openSessions(worker, 20)).some((s) => s.origin === 'app-2');
      },
      { timeoutMs: 5_000, everyMs: 100 },
    );
    const after = await (await worker.fetch('/_affinity/origins/app-2', { headers: auth })).json();
    expect(after).toMatchObject({ state: 'active', stateSetBy: 'operator', control: null });
  });
});
