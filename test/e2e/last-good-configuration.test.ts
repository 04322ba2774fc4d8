/**
 * A bad value put into KV the way an operator would (`wrangler kv key put`), then a deploy: the new
 * isolates have never seen a good configuration, and serve with the last good one the health monitor
 * kept in its storage instead of answering 503.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSessions } from './support/client';
import { EchoOrigin } from './support/echo-origin';
import { DEFAULT_SECRETS, WorkerUnderTest } from './support/worker-under-test';

let origins: EchoOrigin[];
let worker: WorkerUnderTest | undefined;
const auth = { authorization: `Bearer ${DEFAULT_SECRETS.ADMIN_TOKEN}` };
const INVALID = { origins: [{ id: 'app 2', url: 'ftp://nowhere' }] };

interface Status {
  config: {
    inForce: { source: string; etag: string; lastGood: { source: string; adoptedAt: string } | null } | null;
    kv: { ok: boolean; failure?: string; problems?: { path: string }[] };
  };
  health: { inSync: boolean };
}

async function status(running: WorkerUnderTest): Promise<Status> {
  return (await (await running.fetch('/_affinity/status', { headers: auth })).json()) as Status;
}

beforeAll(async () => {
  origins = await Promise.all(['app-1', 'app-2', 'app-3'].map((id) => EchoOrigin.start(id)));
});
afterEach(async () => {
  await worker?.dispose();
  worker = undefined;
});
afterAll(() => Promise.all(origins.map((o) => o.stop())));

describe('a bad configuration in KV, then a deploy', () => {
  it('is served with the last good configuration: sessions keep their origins, and the status says why', async () => {
    worker = await WorkerUnderTest.start({ config: { origins: origins.map((o) => ({ id: o.id, url: o.url })) } });
    const sessions = await openSessions(worker, 30);
    // The first requests asked the health monitor to read KV: it has adopted the configuration.
    await expect.poll(async () => (await status(worker!)).health.inSync, { timeout: 10_000 }).toBe(true);
    const goodEtag = (await status(worker)).config.inForce!.etag;

    await worker.putConfig(INVALID);
    await worker.redeploy(DEFAULT_SECRETS);

    for (const session of sessions) expect((await session.client.echo('/')).echo.origin).toBe(session.origin);
    const fresh = await openSessions(worker, 30);
    expect(new Set(fresh.map((s) => s.origin))).toEqual(new Set(['app-1', 'app-2', 'app-3']));

    const { config } = await status(worker);
    expect(config.inForce).toEqual({
      source: 'last-good',
      appliedAt: expect.any(String),
      etag: goodEtag,
      lastGood: { source: 'kv', adoptedAt: expect.any(String) },
    });
    expect(config.kv).toMatchObject({ ok: false, failure: 'invalid' });
    expect(config.kv.problems!.map((p) => p.path)).toEqual(['origins[0].id', 'origins[0].url']);
    expect(worker.logs.join('\n')).toMatch(/"event":"config.last-good-applied".*"because":"invalid"/);
  });
});
