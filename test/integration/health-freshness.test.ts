/**
 * No request is routed by health older than the probes' own interval: after a quiet spell (or in a new
 * isolate) requests wait for a fresh snapshot, all of them for the same one, and never long.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FRESH_SNAPSHOT_WAIT_MS } from '../../worker/core/health/snapshot-age';
import { affinityCookie, answersWith, freshWorker, seedConfig, stubOrigins } from './support';

const ORIGINS = ['one', 'two', 'three', 'four'].map((name) => ({ id: name, url: `http://${name}` }));
const INTERVAL_S = 10;

beforeEach(() => seedConfig({ origins: ORIGINS, health: { interval: INTERVAL_S } }));
afterEach(() => vi.restoreAllMocks());

/** Opens sessions until `count` of them are pinned to one origin; returns that origin and their cookies. */
async function sessionsOnOneOrigin(worker: ReturnType<typeof freshWorker>, count: number) {
  const byOrigin = new Map<string, string[]>();
  for (;;) {
    const response = await worker.fetch('http://proxy.test/');
    const origin = response.headers.get('x-served-by')!;
    const cookies = [...(byOrigin.get(origin) ?? []), affinityCookie(response)!];
    if (cookies.length === count) return { origin, cookies };
    byOrigin.set(origin, cookies);
  }
}

function servedBy(responses: Response[]): string[] {
  return responses.map((r) => r.headers.get('x-served-by')!);
}

describe('health freshness', () => {
  it('makes a burst after a quiet spell wait for one fresh snapshot rather than route by an old one', async () => {
    stubOrigins(Object.fromEntries(ORIGINS.map((o) => [o.id, answersWith(o.id)])));
    const worker = freshWorker();
    const started = Date.now();
    const { origin, cookies } = await sessionsOnOneOrigin(worker, 8);
    worker.monitor.unhealthy = [origin]; // its probes started failing while the isolate was quiet
    const reads = worker.monitor.snapshots;
    vi.spyOn(Date, 'now').mockReturnValue(started + INTERVAL_S * 1000 + 1000);
    const burst = await Promise.all(
      cookies.map((cookie) => worker.fetch('http://proxy.test/', { headers: { cookie } })),
    );
    expect(servedBy(burst).filter((id) => id === origin)).toEqual([]);
    expect(worker.monitor.snapshots - reads, 'one read for the whole burst').toBe(1);
  });

  it('routes by a snapshot younger than the interval without waiting, and refreshes it behind the response', async () => {
    stubOrigins(Object.fromEntries(ORIGINS.map((o) => [o.id, answersWith(o.id)])));
    const worker = freshWorker();
    const started = Date.now();
    const { origin, cookies } = await sessionsOnOneOrigin(worker, 2);
    worker.monitor.unhealthy = [origin];
    vi.spyOn(Date, 'now').mockReturnValue(started + (INTERVAL_S / 2) * 1000 + 1000);
    const [first, second] = cookies.map((cookie) => ({ headers: { cookie } }));
    expect(servedBy([await worker.fetch('http://proxy.test/', first)])).toEqual([origin]);
    expect(servedBy([await worker.fetch('http://proxy.test/', second)])).not.toEqual([origin]);
  });

  it('waits at most FRESH_SNAPSHOT_WAIT_MS for a slow monitor, then routes by what it knows, once per refresh period', async () => {
    stubOrigins(Object.fromEntries(ORIGINS.map((o) => [o.id, answersWith(o.id)])));
    const worker = freshWorker();
    const started = Date.now();
    await worker.fetch('http://proxy.test/');
    worker.monitor.snapshotDelayMs = 2_000;
    vi.spyOn(Date, 'now').mockReturnValue(started + INTERVAL_S * 1000 + 1000);
    const log = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const answered = worker.monitor.snapshotsAnswered;
    const waited = await worker.respond('http://proxy.test/');
    const next = await worker.respond('http://proxy.test/');
    expect([waited.response.status, next.response.status]).toEqual([200, 200]);
    expect(worker.monitor.snapshotsAnswered, 'both answered before the slow snapshot arrived').toBe(answered);
    await Promise.all([waited.behind, next.behind]);
    const late = log.mock.calls
      .map(([line]) => JSON.parse(String(line)))
      .filter((l) => l.event === 'health.snapshot-late');
    expect(late, 'the second request did not wait again').toHaveLength(1);
    expect(late[0]).toMatchObject({ waitedMs: FRESH_SNAPSHOT_WAIT_MS });
  });

  it('waits for the first snapshot in a new isolate', async () => {
    stubOrigins(Object.fromEntries(ORIGINS.map((o) => [o.id, answersWith(o.id)])));
    const warm = freshWorker();
    const { origin, cookies } = await sessionsOnOneOrigin(warm, 3);
    const cold = freshWorker();
    cold.monitor.unhealthy = [origin];
    const responses = await Promise.all(
      cookies.map((cookie) => cold.fetch('http://proxy.test/', { headers: { cookie } })),
    );
    expect(servedBy(responses).filter((id) => id === origin)).toEqual([]);
    expect(cold.monitor.snapshots).toBe(1);
  });
});
