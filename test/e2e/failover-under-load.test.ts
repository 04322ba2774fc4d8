/**
 * Failover under load: 100 sticky sessions keep sending requests while one of four origins is
 * killed and, later, restarted. Not one request may fail; only the dead origin's sessions may move,
 * each exactly once, and none may move back when it returns.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openSessions, tally, type Client } from './support/client';
import { EchoOrigin } from './support/echo-origin';
import { untilRoutedAs } from './support/health-watch';
import { WorkerUnderTest } from './support/worker-under-test';
import { sleep } from '../support/wait';

const SESSIONS = 100;

let origins: EchoOrigin[];
let worker: WorkerUnderTest;

beforeAll(async () => {
  origins = await Promise.all(['app-1', 'app-2', 'app-3', 'app-4'].map((id) => EchoOrigin.start(id)));
  worker = await WorkerUnderTest.start({
    config: {
      origins: origins.map((o) => ({ id: o.id, url: o.url })),
      health: { path: '/health', interval: 1, timeout: 1, rise: 2, fall: 2 },
    },
  });
});
afterAll(async () => {
  await worker?.dispose();
  await Promise.all(origins.map((o) => o.stop()));
});

interface Trace {
  pinnedTo: string;
  servedBy: string[];
  failures: string[];
}

/** One session's request loop: a request as soon as the previous one answered, until `done()`. */
async function drive(client: Client, trace: Trace, done: () => boolean): Promise<void> {
  while (!done()) {
    try {
      const { response, servedBy } = await client.request('/');
      if (response.status === 200 && servedBy) trace.servedBy.push(servedBy);
      else trace.failures.push(`status ${response.status}`);
    } catch (error) {
      trace.failures.push(error instanceof Error ? error.message : String(error));
    }
  }
}

/** The origins a session went through, consecutive repeats collapsed: ['app-2', 'app-4'] is one move. */
const path = (servedBy: string[]) => servedBy.filter((origin, i) => origin !== servedBy[i - 1]);

it('loses no request and moves only the dead origin’s sessions, each exactly once, with none moving back', async () => {
  const sessions = await openSessions(worker, SESSIONS);
  const traces: Trace[] = sessions.map((s) => ({ pinnedTo: s.origin, servedBy: [s.origin], failures: [] }));
  const victim = [...tally(sessions.map((s) => s.origin))].sort((a, b) => b[1] - a[1])[0]![0];
  let stopped = false;
  const loops = sessions.map((s, i) => drive(s.client, traces[i]!, () => stopped));

  await sleep(1000); // a second of load before the kill
  await origins.find((o) => o.id === victim)!.stop(); // mid-run, connections dropped as by a crash
  await untilRoutedAs(worker, victim, 'unhealthy'); // dead long enough for health to know it
  await origins.find((o) => o.id === victim)!.restart();
  await untilRoutedAs(worker, victim, 'healthy');
  await sleep(1000); // a second of load with it back: a session moving back would show here
  stopped = true;
  await Promise.all(loops);

  const requests = traces.reduce((sum, t) => sum + t.servedBy.length - 1 + t.failures.length, 0);
  const failures = traces.flatMap((t) => t.failures);
  const moved = traces.filter((t) => t.pinnedTo === victim);
  const stayed = traces.filter((t) => t.pinnedTo !== victim);
  const movedTo = tally(moved.map((t) => path(t.servedBy).at(-1)!));
  console.log(
    `failover under load: ${requests} requests, ${failures.length} failed; ${moved.length} sessions on ${victim} ` +
      `moved once each (to ${[...movedTo].map(([id, n]) => `${id}: ${n}`).join(', ')}), ${stayed.length} stayed put`,
  );

  expect(failures).toEqual([]);
  for (const t of stayed) expect(path(t.servedBy), 'a session elsewhere never moves').toEqual([t.pinnedTo]);
  for (const t of moved) {
    const route = path(t.servedBy);
    expect(route, 'one move, off the dead origin, and never back').toHaveLength(2);
    expect(route[0]).toBe(victim);
    expect(route[1]).not.toBe(victim);
  }
  expect(moved.length).toBeGreaterThan(0);
  expect(requests).toBeGreaterThan(SESSIONS * 10);
}, 30_000);
