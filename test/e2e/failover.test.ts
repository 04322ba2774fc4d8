import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, openSessions } from './support/client';
import { EchoOrigin } from './support/echo-origin';
import { WorkerUnderTest } from './support/worker-under-test';

let origins: EchoOrigin[];
let worker: WorkerUnderTest;

beforeAll(async () => {
  origins = await Promise.all(['app-1', 'app-2', 'app-3', 'app-4'].map((id) => EchoOrigin.start(id)));
  worker = await WorkerUnderTest.start({ config: { origins: origins.map((o) => ({ id: o.id, url: o.url })) } });
});
afterAll(async () => {
  await worker?.dispose();
  await Promise.all(origins.map((o) => o.stop()));
});

describe('zero-downtime failover', () => {
  it('moves the sessions of a killed origin inside their next request (an idempotent PUT), and only those', async () => {
    const sessions = await openSessions(worker, 80);
    const victim = origins[1]!;
    await victim.stop();

    const payload = randomBytes(1024);
    const digest = createHash('sha256').update(payload).digest('hex');
    const after = await Promise.all(
      sessions.map(async ({ client, origin }) => {
        const { echo, affinitySetCookie } = await client.echo('/cart/line/1', { method: 'PUT', body: payload });
        expect(echo.bodySha256, 'the PUT body arrives intact').toBe(digest);
        return { client, before: origin, now: echo.origin, reissued: affinitySetCookie !== undefined };
      }),
    );

    const moved = after.filter((s) => s.before === victim.id);
    const stayed = after.filter((s) => s.before !== victim.id);
    expect(moved.length).toBeGreaterThan(5);
    for (const s of stayed) expect(s).toMatchObject({ now: s.before, reissued: false });
    for (const s of moved) expect(s).toMatchObject({ now: expect.not.stringMatching(victim.id), reissued: true });
    expect(new Set(moved.map((s) => s.now)).size, 'spread over more than one survivor').toBeGreaterThan(1);

    for (const s of moved) {
      for (let i = 0; i < 3; i++) expect((await s.client.echo('/')).echo.origin).toBe(s.now);
    }
    await victim.restart();
    for (const s of moved) expect((await s.client.echo('/')).echo.origin, 'no move back after the restart').toBe(s.now);
  });

  it('answers 502 with Retry-After, quickly, when every origin is down', async () => {
    const [session] = await openSessions(worker, 1);
    await Promise.all(origins.map((o) => o.stop()));
    try {
      for (const client of [session!.client, new Client(worker)]) {
        const started = Date.now();
        const { response, text } = await client.request('/');
        expect(response.status).toBe(502);
        expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
        expect(text).toMatch(/no origin could be reached/);
        expect(Date.now() - started).toBeLessThan(1000);
      }
    } finally {
      await Promise.all(origins.map((o) => o.restart()));
    }
  });
});
