import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client, openSessions, tally } from './support/client';
import { EchoOrigin } from './support/echo-origin';
import { DEFAULT_SECRETS, WorkerUnderTest } from './support/worker-under-test';

let origins: EchoOrigin[];
let worker: WorkerUnderTest;
const baseConfig = () => ({ origins: origins.map((o) => ({ id: o.id, url: o.url })) });

async function putConfig(config: unknown): Promise<Response> {
  return worker.fetch('/_affinity/config', {
    method: 'PUT',
    headers: { authorization: `Bearer ${DEFAULT_SECRETS.ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(config),
  });
}

beforeAll(async () => {
  origins = await Promise.all(['app-1', 'app-2', 'app-3'].map((id) => EchoOrigin.start(id)));
});
afterEach(() => worker?.dispose());
afterAll(() => Promise.all(origins.map((o) => o.stop())));

describe('a PUT of the configuration changes routing at once', () => {
  it('drains an origin: its sessions stay, new ones go elsewhere', async () => {
    worker = await WorkerUnderTest.start({ config: baseConfig() });
    const sessions = await openSessions(worker, 45);
    const config = baseConfig();
    config.origins[0] = { ...config.origins[0]!, state: 'draining' } as (typeof config.origins)[0];
    expect((await putConfig(config)).status).toBe(200);
    for (const s of sessions.filter((s) => s.origin === 'app-1'))
      expect((await s.client.echo('/')).echo.origin).toBe('app-1');
    expect((await openSessions(worker, 40)).filter((s) => s.origin === 'app-1')).toEqual([]);
  });

  it('removes an origin: its sessions move, it receives nothing more, other sessions stay', async () => {
    worker = await WorkerUnderTest.start({ config: baseConfig() });
    const sessions = await openSessions(worker, 45);
    expect((await putConfig({ origins: baseConfig().origins.filter((o) => o.id !== 'app-2') })).status).toBe(200);
    const before = origins[1]!.seen.length;
    for (const s of sessions) {
      const { echo } = await s.client.echo('/');
      if (s.origin === 'app-2') expect(echo.origin).not.toBe('app-2');
      else expect(echo.origin).toBe(s.origin);
    }
    expect(origins[1]!.seen.length).toBe(before);
  });

  it('re-weights: new sessions follow the new weights', async () => {
    worker = await WorkerUnderTest.start({ config: baseConfig() });
    await openSessions(worker, 5);
    const weights: Record<string, number> = { 'app-1': 1, 'app-2': 1, 'app-3': 4 };
    expect(
      (await putConfig({ origins: baseConfig().origins.map((o) => ({ ...o, weight: weights[o.id] })) })).status,
    ).toBe(200);
    const counts = tally((await openSessions(worker, 300)).map((s) => s.origin));
    // Expected 50 / 50 / 200; 4 standard deviations is about 26 and 33.
    expect(counts.get('app-3')).toBeGreaterThan(167);
    expect(counts.get('app-3')).toBeLessThan(233);
  });

  it('switches the session key to a header: the same user lands on the same origin without any cookie', async () => {
    worker = await WorkerUnderTest.start({ config: baseConfig() });
    expect((await putConfig({ ...baseConfig(), affinity: { key: 'header:x-user-id' } })).status).toBe(200);
    const landing = new Map<string, Set<string>>();
    for (let user = 0; user < 30; user++) {
      for (let visit = 0; visit < 3; visit++) {
        const { echo } = await new Client(worker).echo('/', { headers: { 'x-user-id': `user-${user}` } });
        landing.set(`user-${user}`, (landing.get(`user-${user}`) ?? new Set()).add(echo.origin));
      }
    }
    expect([...landing.values()].every((set) => set.size === 1)).toBe(true);
    expect(new Set([...landing.values()].flatMap((set) => [...set])).size).toBe(3);
  });
});
