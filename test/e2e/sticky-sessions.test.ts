import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, openSessions, tally } from './support/client';
import { EchoOrigin } from './support/echo-origin';
import { WorkerUnderTest } from './support/worker-under-test';

const WEIGHTS = { 'app-1': 1, 'app-2': 2, 'app-3': 1 } as const;
let origins: EchoOrigin[];
let worker: WorkerUnderTest;

beforeAll(async () => {
  origins = await Promise.all(Object.keys(WEIGHTS).map((id) => EchoOrigin.start(id)));
  worker = await WorkerUnderTest.start({
    config: { origins: origins.map((o) => ({ id: o.id, url: o.url, weight: WEIGHTS[o.id as keyof typeof WEIGHTS] })) },
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
    const sessions = await openSessions(worker, 400);
    const counts = tally(sessions.map((s) => s.origin));
    // Expected 100 / 200 / 100; 4 standard deviations of a binomial at n=400 is about 35 and 40.
    expect(counts.get('app-1')).toBeGreaterThan(65);
    expect(counts.get('app-1')).toBeLessThan(135);
    expect(counts.get('app-2')).toBeGreaterThan(160);
    expect(counts.get('app-2')).toBeLessThan(240);
    expect(counts.get('app-3')).toBeGreaterThan(65);
    expect(counts.get('app-3')).toBeLessThan(135);
  });

  it.each([
    ['tampered', (token: string) => token.replace(/\.([^.]+)$/, '.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')],
    ['pointed at another origin', (token: string) => token.replace(/\.app-\d\./, '.app-9.')],
    ['garbage', () => 'not-a-token'],
    ['4 KB long', () => 'A'.repeat(4096)],
  ])('serves a request with a %s cookie and issues a fresh, valid one', async (_, mangle) => {
    const client = new Client(worker);
    await client.echo('/');
    client.jar.set('__affinity', mangle(client.affinityToken!));
    const { response, affinitySetCookie } = await client.echo('/');
    expect(response.status).toBe(200);
    expect(affinitySetCookie).toBeDefined();
    const { affinitySetCookie: again } = await client.echo('/');
    expect(again).toBeUndefined(); // the fresh cookie verifies
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
