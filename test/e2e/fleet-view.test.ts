/**
 * The fleet view end to end: the bundled worker under Miniflare in front of real origins, its
 * metrics read by a real Prometheus text parser, the README's drain recipe (scripts/drain-origin.sh,
 * curl and jq) run against it, and the Analytics Engine binding as Miniflare provides it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheus, sampleValue } from '../support/prometheus-parser';
import { Client, openSessions } from './support/client';
import { EchoOrigin } from './support/echo-origin';
import { DEFAULT_SECRETS, WorkerUnderTest } from './support/worker-under-test';
import { sleep } from '../support/wait';

const DRAIN_SCRIPT = resolve(import.meta.dirname, '../../scripts/drain-origin.sh');
const TOKEN = DEFAULT_SECRETS.ADMIN_TOKEN!;
const auth = { authorization: `Bearer ${TOKEN}` };

let origins: EchoOrigin[];
let worker: WorkerUnderTest;

beforeAll(async () => {
  origins = await Promise.all(['app-1', 'app-2'].map((id) => EchoOrigin.start(id)));
  worker = await WorkerUnderTest.start({
    analytics: true,
    config: { origins: origins.map((o) => ({ id: o.id, url: o.url })), health: { interval: 1, timeout: 1 } },
  });
});

afterAll(async () => {
  await worker?.dispose();
  await Promise.all(origins?.map((o) => o.stop()) ?? []);
});

/** Runs the drain script; resolves with its exit code and when it exited. */
async function runDrainScript(action: 'drain' | 'activate', origin: string, env: Record<string, string> = {}) {
  const child = spawn('sh', [DRAIN_SCRIPT, action, origin], {
    env: { ...process.env, AFFINITY: worker.url, ADMIN_TOKEN: TOKEN, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  return { code, exitedAt: Date.now(), stderr };
}

async function sessionOn(origin: string): Promise<Client> {
  for (let i = 0; i < 40; i++) {
    const [session] = await openSessions(worker, 1);
    if (session!.origin === origin) return session!.client;
  }
  throw new Error(`no session landed on ${origin}`);
}

describe('the fleet view of the bundled worker', () => {
  it('serves Prometheus metrics a real parser reads, counting what the origins answered', async () => {
    const sessions = await openSessions(worker, 6);
    for (const { client } of sessions) await client.echo('/');
    await expect
      .poll(
        async () => {
          const families = parsePrometheus(await (await worker.fetch('/_affinity/metrics', { headers: auth })).text());
          return ['app-1', 'app-2'].reduce(
            (sum, origin) => sum + sampleValue(families, 'edge_affinity_origin_requests_total', { origin }),
            0,
          );
        },
        // The counters are the stored totals: up to a 10 s report interval, then a 1 s store.
        { timeout: 25_000, interval: 500 },
      )
      .toBeGreaterThanOrEqual(12);
    const families = parsePrometheus(await (await worker.fetch('/_affinity/metrics', { headers: auth })).text());
    const proxied = (o: EchoOrigin) =>
      o.seen.filter((r) => !String(r.headers['user-agent']).startsWith('edge-affinity-health-check'));
    const seen = origins.reduce((sum, o) => sum + proxied(o).length, 0);
    const counted = ['app-1', 'app-2'].reduce(
      (sum, origin) => sum + sampleValue(families, 'edge_affinity_origin_requests_total', { origin }),
      0,
    );
    expect(counted).toBe(seen);
    expect(sampleValue(families, 'edge_affinity_origin_up', { origin: 'app-1' })).toBe(1);
    // Every routing decision was also written to the Analytics Engine dataset, without a failure.
    expect(worker.logs.filter((line) => line.includes('analytics.write-failed'))).toEqual([]);
  }, 45_000);

  it('runs the README’s drain recipe: drained once its pinned session stopped for IDLE seconds and every report is in', async () => {
    const pinned = await sessionOn('app-2');
    const drainStartedAt = Date.now();
    const drain = runDrainScript('drain', 'app-2', { IDLE: '2', POLL: '0.25', MAX_WAIT: '40' });
    let lastRequestAt = 0;
    const browsingUntil = Date.now() + 3_000; // the session keeps the drain busy for 3 s
    while (Date.now() < browsingUntil) {
      const { echo } = await pinned.echo('/');
      expect(echo.origin).toBe('app-2'); // draining keeps the sessions it has
      lastRequestAt = Date.now();
      await sleep(250); // a person's pace
    }
    const fresh = await openSessions(worker, 6);
    expect(fresh.map((s) => s.origin)).toEqual(new Array(6).fill('app-1')); // and takes no new ones
    const { code, exitedAt, stderr } = await drain;
    expect([code, stderr]).toEqual([0, '']);
    // Idle 2 s beyond the 3 s a draining origin's reports may take through their location object (the
    // session browsed for 3 s of the drain, so any request from before the drain is older than IDLE by
    // then), and not much later.
    expect(exitedAt - lastRequestAt).toBeGreaterThanOrEqual(5_000);
    expect(exitedAt - lastRequestAt).toBeLessThan(7_000);
    expect(exitedAt - drainStartedAt).toBeLessThan(10_000);

    expect((await runDrainScript('activate', 'app-2')).code).toBe(0);
    const origin = (await (await worker.fetch('/_affinity/origins/app-2', { headers: auth })).json()) as object;
    expect(origin).toMatchObject({ id: 'app-2', state: 'active', drained: null });
  }, 50_000);

  it('gives up with an error when the origin does not drain in MAX_WAIT seconds', async () => {
    const pinned = await sessionOn('app-2');
    const drain = runDrainScript('drain', 'app-2', { IDLE: '300', POLL: '0.25', MAX_WAIT: '2' });
    await pinned.echo('/');
    const { code, stderr } = await drain;
    expect(code).toBe(1);
    expect(stderr).toContain('app-2 not drained after 2 s');
    expect((await runDrainScript('activate', 'app-2')).code).toBe(0);
  }, 20_000);
});
