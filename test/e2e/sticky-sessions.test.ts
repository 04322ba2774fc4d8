import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importSigningKey, signAffinityToken } from '../../worker/core/session/affinity-token';
import { Client, tally } from './support/client';
import { awaitDecisions } from './support/decision-log';
import { EchoOrigin } from './support/echo-origin';
import { DEFAULT_SECRETS, WorkerUnderTest } from './support/worker-under-test';
import { claimsOf } from '../support/affinity-claims';

const WEIGHTS = { 'app-1': 1, 'app-2': 2, 'app-3': 1 } as const;
let origins: EchoOrigin[];
let worker: WorkerUnderTest;

beforeAll(async () => {
  origins = await Promise.all(Object.keys(WEIGHTS).map((id) => EchoOrigin.start(id)));
  worker = await WorkerUnderTest.start({
    config: {
      origins: origins.map((o) => ({ id: o.id, url: o.url, weight: WEIGHTS[o.id as keyof typeof WEIGHTS] })),
      // A request without the header (every test but the spread's) falls back to a random session key.
      affinity: { key: 'header:x-user' },
    },
  });
});
afterAll(async () => {
  await worker?.dispose();
  await Promise.all(origins.map((o) => o.stop()));
});

describe('sticky sessions', () => {
  it('pins the first request and sets an HttpOnly, SameSite, Max-Age cookie for the whole site', async () => {
    const client = new Client(worker);
    const { affinitySetCookie, echo } = await client.echo('/first');
    expect(Object.keys(WEIGHTS)).toContain(echo.origin);
    const attributes = affinitySetCookie!.split('; ').slice(1);
    expect(attributes).toEqual(expect.arrayContaining(['Max-Age=82800', 'Path=/', 'HttpOnly', 'SameSite=Lax']));
    expect(attributes).not.toContain('Secure'); // plain http here; https is covered in the integration tier
    expect(client.affinityToken!.length).toBeLessThan(200);
    expect(client.affinityToken).not.toContain(String(origins[0]!.port)); // an opaque id, never the address
  });

  it('keeps a session on its origin for 25 requests, without re-sending the cookie each time', async () => {
    const client = new Client(worker);
    const { echo: first } = await client.echo('/');
    for (let i = 0; i < 25; i++) {
      const { echo, affinitySetCookie } = await client.echo(`/page/${i}`);
      expect(echo.origin).toBe(first.origin);
      expect(affinitySetCookie).toBeUndefined();
    }
  });

  it('spreads 400 new sessions over the origins by weight', async () => {
    // Keyed by a header, the same 400 keys every run: the spread is the hash's alone, the same each
    // time, never a random draw that lands past the bound once in a while (or a failover under load).
    const sessions = await Promise.all(
      Array.from({ length: 400 }, async (_, i) => {
        const { echo } = await new Client(worker).echo('/', { headers: { 'x-user': `user-${i}` } });
        return echo.origin;
      }),
    );
    const counts = tally(sessions);
    // Expected 100 / 200 / 100; 4 standard deviations of a binomial at n=400 is about 35 and 40.
    expect(counts.get('app-1')).toBeGreaterThan(65);
    expect(counts.get('app-1')).toBeLessThan(135);
    expect(counts.get('app-2')).toBeGreaterThan(160);
    expect(counts.get('app-2')).toBeLessThan(240);
    expect(counts.get('app-3')).toBeGreaterThan(65);
    expect(counts.get('app-3')).toBeLessThan(135);
  });

  /** The session id a token carries (README, "The cookie"). */
  const sessionIdOf = async (token: string) => (await claimsOf(token, DEFAULT_SECRETS.AFFINITY_SECRET!)).sessionId;

  it.each([
    ['tampered', (token: string) => token.replace(/\.([^.]+)$/, '.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')],
    ['rewritten to name another origin', (token: string) => token.replace(/\.app-\d\./, '.app-9.')],
    ['garbage', () => 'not-a-token'],
    ['4 KB long', () => 'A'.repeat(4096)],
  ])('serves a request whose cookie is %s as a new session, and issues a fresh, valid cookie', async (name, mangle) => {
    const client = new Client(worker);
    await client.echo('/');
    const original = client.affinityToken!;
    client.jar.set('__affinity', mangle(original));
    const path = `/bad-cookie/${name.replaceAll(' ', '-')}`;
    const mark = worker.logs.length;
    const { response, affinitySetCookie } = await client.echo(path);
    expect(response.status).toBe(200);
    const [decision] = await awaitDecisions(worker.logs, mark, 1, (d) => d.path === path);
    expect(decision).toMatchObject({ decision: 'new', cookie: 'tampered' });
    expect(decision!.reason).toBeUndefined();
    expect(affinitySetCookie).toBeDefined();
    expect(await sessionIdOf(client.affinityToken!), 'a new session').not.toBe(await sessionIdOf(original));
    const { affinitySetCookie: again } = await client.echo('/');
    expect(again).toBeUndefined(); // the fresh cookie verifies
  });

  it('moves a session whose genuinely signed cookie names an origin that is not configured, keeping its id', async () => {
    const signer = await importSigningKey(DEFAULT_SECRETS.AFFINITY_SECRET!);
    const sessionId = 'SessionOfAGoneOne';
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    const client = new Client(worker);
    client.jar.set('__affinity', await signAffinityToken({ originId: 'app-9', sessionId, expiresAt }, signer));
    const mark = worker.logs.length;
    const { echo } = await client.echo('/pinned-to-a-gone-origin');
    const [decision] = await awaitDecisions(worker.logs, mark, 1, (d) => d.path === '/pinned-to-a-gone-origin');
    expect(decision).toMatchObject({
      decision: 'repinned',
      reason: 'removed',
      cookie: 'unknown-origin',
      origin: echo.origin,
      tried: 1,
      attempts: [],
    });
    const { sessionId: keptId, originId: pinnedTo } = await claimsOf(
      client.affinityToken!,
      DEFAULT_SECRETS.AFFINITY_SECRET!,
    );
    expect({ keptId, pinnedTo }).toEqual({ keptId: sessionId, pinnedTo: echo.origin });
    const { echo: next, affinitySetCookie } = await client.echo('/');
    expect({ origin: next.origin, affinitySetCookie }).toEqual({ origin: echo.origin, affinitySetCookie: undefined });
  });

  it('never lets the affinity cookie reach an origin, and keeps every other cookie', async () => {
    const client = new Client(worker);
    await client.echo('/');
    const { echo } = await client.echo('/with-cookies', { headers: { cookie: 'app_session=s1; theme=dark' } });
    expect(echo.headers.cookie).toBe('app_session=s1; theme=dark');
    for (const origin of origins) {
      for (const seen of origin.seen) expect(String(seen.headers.cookie ?? '')).not.toContain('__affinity');
    }
  });
});
