import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client, openSessions } from './support/client';
import { awaitDecisions, decisionsIn } from './support/decision-log';
import { EchoOrigin } from './support/echo-origin';
import { healthReport, probesOf, untilProbed, untilRoutedAs } from './support/health-watch';
import { DEFAULT_SECRETS, WorkerUnderTest } from './support/worker-under-test';
import { sleep, until } from '../support/wait';

const HEALTH = { path: '/health', interval: 1, timeout: 1, rise: 2, fall: 2 };

let origins: EchoOrigin[];
let worker: WorkerUnderTest;
const byId = (id: string) => origins.find((o) => o.id === id)!;
const configWith = (overrides: Record<string, object | null> = {}) => ({
  origins: origins.filter((o) => overrides[o.id] !== null).map((o) => ({ id: o.id, url: o.url, ...overrides[o.id] })),
  health: HEALTH,
});

/** Requests that keep the isolate refreshing its health snapshot, from a session pinned elsewhere. */
function keepTraffic(client: Client): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    while (running) {
      await client.echo('/');
      await sleep(150);
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

beforeAll(async () => {
  origins = await Promise.all(['app-1', 'app-2', 'app-3'].map((id) => EchoOrigin.start(id)));
});
afterEach(async () => {
  await worker?.dispose();
  await Promise.all(origins.map((o) => o.restart()));
});
afterAll(() => Promise.all(origins.map((o) => o.stop())));

describe('health monitoring end to end', () => {
  it('stops giving new sessions to an origin that died, takes it back after it recovers, and never moves sessions back', async () => {
    worker = await WorkerUnderTest.start({ config: configWith() });
    const sessions = await openSessions(worker, 60);
    const victim = byId('app-2');
    const pinnedToVictim = sessions.filter((s) => s.origin === victim.id);
    const bystander = sessions.find((s) => s.origin !== victim.id)!.client;
    const stopTraffic = keepTraffic(bystander);
    try {
      await victim.stop();
      await untilRoutedAs(worker, victim.id, 'unhealthy');
      const mark = worker.logs.length;
      const fresh = await openSessions(worker, 40, '/after-the-death');
      expect(fresh.filter((s) => s.origin === victim.id)).toEqual([]);
      // Not even attempted, health knew it was down: every new session went straight to a survivor.
      const decisions = await awaitDecisions(worker.logs, mark, 40, (d) => d.path === '/after-the-death');
      expect(decisions.map((d) => d.origin).sort()).toEqual(fresh.map((s) => s.origin).sort());
      for (const decision of decisions) {
        expect(decision).toMatchObject({ decision: 'new', cookie: 'absent', tried: 1, attempts: [], status: 200 });
      }
      const failuresOnVictim = decisionsIn(worker.logs.slice(mark))
        .flatMap((d) => d.attempts)
        .filter((failure) => failure.origin === victim.id);
      expect(failuresOnVictim, 'no request tried the dead origin').toEqual([]);

      const moved = await Promise.all(
        pinnedToVictim.map(async (s) => ({ client: s.client, to: (await s.client.echo('/')).echo.origin })),
      );
      expect(moved.every((m) => m.to !== victim.id)).toBe(true);

      await victim.restart();
      await untilRoutedAs(worker, victim.id, 'healthy');
      const afterRecovery = await openSessions(worker, 60);
      expect(afterRecovery.filter((s) => s.origin === victim.id).length).toBeGreaterThan(0);
      for (const m of moved) expect((await m.client.echo('/')).echo.origin, 'no move back').toBe(m.to);
    } finally {
      await stopTraffic();
    }
  });

  it('lets a draining origin keep its sessions and gives it no new ones', async () => {
    worker = await WorkerUnderTest.start({ config: configWith() });
    const sessions = await openSessions(worker, 45);
    const drained = sessions.filter((s) => s.origin === 'app-1');
    expect(drained.length).toBeGreaterThan(0);
    await worker.putConfig(configWith({ 'app-1': { state: 'draining' } }));
    await worker.redeploy(DEFAULT_SECRETS); // same secret: cookies stay valid
    for (const s of drained) expect((await s.client.echo('/')).echo.origin).toBe('app-1');
    const fresh = await openSessions(worker, 40);
    expect(fresh.filter((s) => s.origin === 'app-1')).toEqual([]);
  });

  it.each([
    ['disabled', { state: 'disabled' }],
    ['removed', null],
  ] as const)('sends no request at all to a %s origin, probes aside', async (_, override) => {
    worker = await WorkerUnderTest.start({ config: configWith() });
    const sessions = await openSessions(worker, 45);
    const pinned = sessions.filter((s) => s.origin === 'app-3');
    expect(pinned.length).toBeGreaterThan(0);
    await worker.putConfig(configWith({ 'app-3': override }));
    await worker.redeploy(DEFAULT_SECRETS); // with the admin token: the test reads the status
    const before = byId('app-3').traffic().length;
    const mark = worker.logs.length;
    for (const s of pinned) {
      const { echo, affinitySetCookie } = await s.client.echo('/');
      expect(echo.origin).not.toBe('app-3');
      expect(affinitySetCookie).toBeDefined();
    }
    await openSessions(worker, 40);
    // Every request done, to its decision log line (written once nothing more is sent for it).
    await awaitDecisions(worker.logs, mark, pinned.length + 40);
    expect(byId('app-3').traffic().length).toBe(before);
    if (override === null) {
      // Once the monitor has the new plan, a removed origin is not even probed. A round under way when
      // the plan changed may still reach it, so count from a round that started after the change.
      await until('the monitor probing the new plan', async () => (await healthReport(worker)).health.inSync, {
        timeoutMs: 10_000,
      });
      const survivors = origins.filter((o) => o.id !== 'app-3');
      await untilProbed(survivors, 2);
      const probesBefore = probesOf(byId('app-3'));
      await untilProbed(survivors, 2);
      expect(probesOf(byId('app-3'))).toBe(probesBefore);
    }
  });
});
