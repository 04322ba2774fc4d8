/**
 * Load-aware placement end to end (`affinity.balanceFactor`): three real origins on 127.0.0.1, one of
 * them answering ten times slower than the others, pinned sessions browsing all along (a request,
 * then a pause, like a person) while new sessions arrive. Without a balance factor the slow origin
 * takes new sessions at its weight's share; with 1.25 its share drops; and no pinned session moves.
 * The two workers run side by side on the same origins; new sessions arrive once the isolate has had
 * its first fleet figures back (its traffic report is every 10 s), as a deployment in service has.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSessions, type Client } from './support/client';
import { EchoOrigin } from './support/echo-origin';
import { WorkerUnderTest } from './support/worker-under-test';
import { sleep } from '../support/wait';

const IDS = ['app-1', 'app-2', 'app-3'];
const SLOW = 'app-3';
const FAST_MS = 100;
const SLOW_MS = FAST_MS * 10;
const PINNED = 45;
/** Past the isolate's second traffic report, whose answer carries the fleet's figures of the first 10 s. */
const WARM_UP_MS = 11_000;
const NEW_SESSIONS = 150;
const THINK_MS = 300;

let origins: EchoOrigin[];

beforeAll(async () => {
  origins = await Promise.all(IDS.map((id) => EchoOrigin.start(id)));
  for (const origin of origins) origin.delayMs = origin.id === SLOW ? SLOW_MS : FAST_MS;
});
afterAll(() => Promise.all(origins.map((o) => o.stop())));

interface Run {
  /** New sessions the slow origin took, of NEW_SESSIONS. */
  slowShare: number;
  /** Requests of pinned sessions answered by another origin than their own. */
  moved: number;
  pinnedRequests: number;
}

/** Pinned sessions browse (request, pause) while new sessions arrive, five every 200 ms. */
async function run(affinity: Record<string, unknown>): Promise<Run> {
  const worker = await WorkerUnderTest.start({
    config: {
      origins: origins.map((o) => ({ id: o.id, url: o.url })),
      affinity,
      health: { path: '/health', interval: 5, timeout: 2 },
    },
  });
  try {
    const pinned = await openSessions(worker, PINNED);
    let browsing = true;
    let moved = 0;
    let pinnedRequests = 0;
    const browse = async ({ client, origin }: { client: Client; origin: string }) => {
      while (browsing) {
        const { echo } = await client.echo('/browse');
        pinnedRequests++;
        if (echo.origin !== origin) moved++;
        await sleep(THINK_MS * (0.5 + Math.random())); // people do not click in step
      }
    };
    const loops = pinned.map(browse);
    await sleep(WARM_UP_MS);
    const arrivals: ReturnType<typeof openSessions>[] = [];
    for (let i = 0; i < NEW_SESSIONS / 5; i++) {
      arrivals.push(openSessions(worker, 5, '/arrive'));
      await sleep(200);
    }
    const fresh = (await Promise.all(arrivals)).flat().map((s) => s.origin);
    browsing = false;
    await Promise.all(loops);
    return { slowShare: fresh.filter((id) => id === SLOW).length / NEW_SESSIONS, moved, pinnedRequests };
  } finally {
    await worker.dispose();
  }
}

describe('one origin answering ten times slower than the others', () => {
  it('keeps its weight’s share of new sessions without a balance factor, loses it with 1.25, and moves no pinned session', async () => {
    const [without, bounded] = await Promise.all([run({}), run({ balanceFactor: 1.25 })]);
    // Its weight's share is 1/3: 50 of 150, and four standard deviations of a binomial are 23.
    expect(without.slowShare).toBeGreaterThan((50 - 23) / 150);
    expect(without.slowShare).toBeLessThan((50 + 23) / 150);
    // Bounded loads keep it within 1.25 × the mean, not at zero: less than half its weight's share.
    expect(bounded.slowShare).toBeLessThan(1 / 3 / 2);
    for (const { moved, pinnedRequests } of [without, bounded]) {
      expect(pinnedRequests).toBeGreaterThan(PINNED * 10);
      expect(moved).toBe(0);
    }
    console.info(
      `load-aware placement: the slow origin took ${(without.slowShare * 100).toFixed(1)}% of new sessions without a ` +
        `balance factor, ${(bounded.slowShare * 100).toFixed(1)}% with 1.25; pinned requests ${without.pinnedRequests} / ` +
        `${bounded.pinnedRequests}, moved ${without.moved} / ${bounded.moved}`,
    );
  }, 60_000);
});
