import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client';
import { EchoOrigin } from './support/echo-origin';
import { WorkerUnderTest } from './support/worker-under-test';

const OLD = 'rotation-secret-old';
const NEW = 'rotation-secret-new';
let origins: EchoOrigin[];
let worker: WorkerUnderTest | undefined;
const config = () => ({ origins: origins.map((o) => ({ id: o.id, url: o.url })) });

beforeAll(async () => {
  origins = await Promise.all(['app-1', 'app-2', 'app-3'].map((id) => EchoOrigin.start(id)));
});
afterEach(async () => {
  await worker?.dispose();
  worker = undefined;
});
afterAll(() => Promise.all(origins.map((o) => o.stop())));

/** Pins a session under `secret`, returns the client and its origin. */
async function pinnedUnder(running: WorkerUnderTest) {
  const client = new Client(running);
  const { echo } = await client.echo('/');
  return { client, origin: echo.origin, token: client.affinityToken! };
}

describe('secret rotation', () => {
  it('keeps sessions across a rotation and re-issues their cookies under the new key', async () => {
    worker = await WorkerUnderTest.start({ config: config(), secrets: { AFFINITY_SECRET: OLD } });
    const sessions = await Promise.all(Array.from({ length: 10 }, () => pinnedUnder(worker!)));

    await worker.redeploy({ AFFINITY_SECRET: NEW, AFFINITY_SECRET_PREVIOUS: OLD });
    for (const session of sessions) {
      const { echo, affinitySetCookie } = await session.client.echo('/');
      expect(echo.origin).toBe(session.origin);
      expect(affinitySetCookie, 'the cookie is re-issued under the new key').toBeDefined();
      expect(session.client.affinityToken).not.toBe(session.token);
      expect((await session.client.echo('/')).affinitySetCookie).toBeUndefined();
    }

    // Retiring the old key for good: the re-issued cookies keep working.
    await worker.redeploy({ AFFINITY_SECRET: NEW });
    for (const session of sessions) {
      const { echo, affinitySetCookie } = await session.client.echo('/');
      expect(echo.origin).toBe(session.origin);
      expect(affinitySetCookie).toBeUndefined();
    }
  });

  it('survives a rollback to the old key (the new one as previous)', async () => {
    worker = await WorkerUnderTest.start({
      config: config(),
      secrets: { AFFINITY_SECRET: NEW, AFFINITY_SECRET_PREVIOUS: OLD },
    });
    const sessions = await Promise.all(Array.from({ length: 10 }, () => pinnedUnder(worker!)));
    await worker.redeploy({ AFFINITY_SECRET: OLD, AFFINITY_SECRET_PREVIOUS: NEW });
    for (const session of sessions) {
      const { echo, affinitySetCookie } = await session.client.echo('/');
      expect(echo.origin).toBe(session.origin);
      expect(affinitySetCookie).toBeDefined();
    }
  });

  it('treats a cookie signed with a retired and forgotten key as no cookie: served, and given a fresh one', async () => {
    worker = await WorkerUnderTest.start({ config: config(), secrets: { AFFINITY_SECRET: OLD } });
    const { client } = await pinnedUnder(worker);
    await worker.redeploy({ AFFINITY_SECRET: NEW });
    const { response, affinitySetCookie } = await client.request('/');
    expect(response.status).toBe(200);
    expect(affinitySetCookie).toBeDefined();
  });
});

describe('fail closed', () => {
  it.each([
    ['missing', {}],
    ['empty', { AFFINITY_SECRET: '' }],
  ])(
    'answers 500 naming AFFINITY_SECRET when the secret is %s, proxies nothing and sets no cookie',
    async (_, secrets) => {
      const seenBefore = origins.map((o) => o.seen.length);
      worker = await WorkerUnderTest.start({ config: config(), secrets });
      const { response, text } = await new Client(worker).request('/');
      expect(response.status).toBe(500);
      expect(text).toContain('AFFINITY_SECRET');
      expect(text).toContain('wrangler secret put AFFINITY_SECRET');
      expect(response.headers.getSetCookie()).toEqual([]);
      expect(origins.map((o) => o.seen.length)).toEqual(seenBefore);
    },
  );
});

describe('configuration', () => {
  it('answers 503 naming the KV key and how to set it when there is no configuration', async () => {
    worker = await WorkerUnderTest.start({});
    const { response, text } = await new Client(worker).request('/');
    expect(response.status).toBe(503);
    expect(text).toContain('"config"');
    expect(text).toContain('wrangler kv key put --binding ORIGINS config');
    expect(response.headers.get('retry-after')).toBeTruthy();
  });

  it('answers 503 counting the problems when KV holds only an invalid configuration, and logs them', async () => {
    // A deployment that has never had a good configuration: no isolate, and not the health monitor,
    // has a last good one to keep in force (last-good-configuration.test.ts has the other case).
    worker = await WorkerUnderTest.start({ config: { origins: [{ id: 'app 2', url: 'ftp://nowhere' }] } });
    const { response, text } = await new Client(worker).request('/');
    expect(response.status).toBe(503);
    expect(text).toMatch(/invalid \(2 problem/);
    expect(worker.logs.join('\n')).toMatch(/"event":"config.invalid".*origins\[0\]\.id/);
  });
});
