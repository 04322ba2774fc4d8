import {
  createScheduledController,
  evictDurableObject,
  listDurableObjectIds,
  reset,
  runDurableObjectAlarm,
  runInDurableObject,
} from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../worker/core/config/config-parse';
import { healthPlan } from '../../worker/core/health/health-plan';
import { COORDINATOR } from '../../worker/monitor/monitor-protocol';
import worker from '../../worker/index';
import { PROBE_USER_AGENT } from '../../worker/monitor/coordinator/probe';
import {
  affinityCookie,
  answersWith,
  emptyHealthMonitors,
  freshWorker,
  seedConfig,
  stubOrigins,
  testEnv,
  type OriginBehaviour,
} from './support';
import { sleep } from '../support/wait';

const coordinator = () => testEnv.HEALTH_MONITOR.getByName(COORDINATOR);

function planOf(config: unknown) {
  const parsed = parseConfig(config);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return healthPlan(parsed.config);
}

/** A configuration as the admin API hands it to the coordinator: its stored text. */
const textOf = (config: unknown) => JSON.stringify(config);

/** Origins a, b, c at http://a ... with the given health settings (a long interval: tests run rounds by hand). */
function abcConfig(health: Record<string, unknown> = {}) {
  return textOf({
    origins: ['a', 'b', 'c'].map((id) => ({ id, url: `http://${id}` })),
    health: { interval: 3600, path: '/healthz', ...health },
  });
}

async function runRound(stub = coordinator()) {
  expect(await runDurableObjectAlarm(stub)).toBe(true);
}

afterEach(async () => {
  vi.restoreAllMocks();
  // Every object of the monitor starts the next test empty: storage, alarm and memory.
  await emptyHealthMonitors();
  await reset();
});

describe('the health monitor', () => {
  it('probes every origin on its alarm, and stores state, latency and last error', async () => {
    const seen = stubOrigins({ a: answersWith('a'), b: () => new Response('down', { status: 503 }), c: 'refuse' });
    await coordinator().configure(abcConfig({ rise: 1, fall: 1 }));
    await runRound();
    const { origins } = await coordinator().status();
    expect(origins.a).toMatchObject({
      state: 'healthy',
      latencyMs: expect.any(Number),
      lastProbeAt: expect.any(Number),
    });
    expect(origins.b).toMatchObject({ state: 'unhealthy', lastError: 'HTTP 503' });
    expect(origins.c).toMatchObject({ state: 'unhealthy', lastError: 'Network connection lost.' });
    expect(seen.map((r) => r.url).sort()).toEqual(['http://a/healthz', 'http://b/healthz', 'http://c/healthz']);
    expect(seen.every((r) => r.headers.get('user-agent') === PROBE_USER_AGENT)).toBe(true);
    expect((await coordinator().snapshot()).unhealthy.sort()).toEqual(['b', 'c']);
  });

  it('counts a probe that does not answer within the timeout as failed', async () => {
    stubOrigins({
      a: answersWith('a'),
      b: (request) =>
        new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason))),
      c: answersWith('c'),
    });
    await coordinator().configure(abcConfig({ rise: 1, fall: 1, timeout: 0.2 }));
    await runRound();
    expect((await coordinator().status()).origins.b).toMatchObject({
      state: 'unhealthy',
      lastError: 'no answer within 0.2 s',
    });
  });

  it('keeps its state in storage: an eviction loses nothing and the alarm stays armed', async () => {
    stubOrigins({ a: answersWith('a'), b: 'refuse', c: answersWith('c') });
    await coordinator().configure(abcConfig({ rise: 1, fall: 1 }));
    await runRound();
    const before = await coordinator().status();
    await evictDurableObject(coordinator());
    const after = await coordinator().status();
    expect(after.origins).toEqual(before.origins);
    expect(after.planKey).toBe(before.planKey);
    expect(await runInDurableObject(coordinator(), (_, state) => state.storage.getAlarm())).not.toBeNull();
  });

  it('re-arms its alarm when a round fails, and the next round probes and stores', async () => {
    stubOrigins({ a: answersWith('a'), b: answersWith('b'), c: answersWith('c') });
    await coordinator().configure(abcConfig({ rise: 1, fall: 1 }));
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    await runInDurableObject(coordinator(), (_, state) => {
      vi.spyOn(state.storage, 'put').mockRejectedValueOnce(new Error('storage unavailable'));
    });
    await runRound();
    expect(String(errors.mock.calls[0]?.[0])).toContain('health.round-failed');
    expect(await runInDurableObject(coordinator(), (_, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now());
    // Only the re-armed alarm can run the next round: b now refuses, and what that round found must be
    // in storage (read back after an eviction), not just in memory.
    const seen = stubOrigins({ a: answersWith('a'), b: 'refuse', c: answersWith('c') });
    expect(await runDurableObjectAlarm(coordinator()), 'an alarm was armed').toBe(true);
    expect(seen.map((r) => r.url).sort()).toEqual(['http://a/healthz', 'http://b/healthz', 'http://c/healthz']);
    await evictDurableObject(coordinator());
    expect((await coordinator().status()).origins.b).toMatchObject({
      state: 'unhealthy',
      lastError: expect.any(String),
    });
  });

  it('takes passive reports at once, and only probes bring the origin back', async () => {
    stubOrigins({ a: answersWith('a'), b: answersWith('b'), c: answersWith('c') });
    await coordinator().configure(abcConfig({ rise: 2, fall: 2 }));
    await runRound();
    await runRound();
    expect((await coordinator().status()).origins.b!.state).toBe('healthy');
    await coordinator().report([{ originId: 'b', count: 2, error: 'Network connection lost.', at: Date.now() }]);
    expect((await coordinator().snapshot()).unhealthy).toEqual(['b']);
    await runRound();
    expect((await coordinator().snapshot()).unhealthy).toEqual(['b']); // one good probe is not enough (rise 2)
    await runRound();
    expect((await coordinator().snapshot()).unhealthy).toEqual([]);
  });

  it('ignores reports about origins it does not probe', async () => {
    stubOrigins({ a: answersWith('a'), b: answersWith('b'), c: answersWith('c') });
    await coordinator().configure(abcConfig({ fall: 1 }));
    await coordinator().report([{ originId: 'zz', count: 5, error: 'x', at: Date.now() }]);
    expect(Object.keys((await coordinator().status()).origins).sort()).toEqual(['a', 'b', 'c']);
  });

  it('shards many origins over several objects, which publish back to the coordinator, and drops shards no longer needed', async () => {
    const origins = Array.from({ length: 40 }, (_, i) => ({ id: `o${i}`, url: `http://o${i}` }));
    stubOrigins(Object.fromEntries(origins.map((o) => [o.id, answersWith(o.id)])));
    // interval 1 s, timeout 1 s: six origins per object, so seven objects.
    const big = textOf({ origins, health: { interval: 1, timeout: 1, rise: 1 } });
    await coordinator().configure(big);
    expect((await coordinator().status()).shards).toBe(7);
    expect(await listDurableObjectIds(testEnv.HEALTH_MONITOR)).toHaveLength(7);
    await vi.waitFor(
      async () => {
        const status = await coordinator().status();
        expect(Object.values(status.origins).filter((h) => h.state === 'healthy')).toHaveLength(40);
      },
      { timeout: 8000, interval: 200 },
    );
    await coordinator().configure(textOf({ origins: origins.slice(0, 5), health: { interval: 3600, timeout: 1 } }));
    const dropped = testEnv.HEALTH_MONITOR.getByName('shard-3');
    expect(await runInDurableObject(dropped, (_, state) => state.storage.getAlarm())).toBeNull();
    expect(Object.keys((await coordinator().status()).origins)).toHaveLength(5);
    await sleep(500); // let rounds under way finish before teardown
  }, 15_000);
});

describe('what origins say of themselves', () => {
  const config = (overrides: Record<string, object> = {}) =>
    textOf({
      origins: ['a', 'b', 'c'].map((id) => ({ id, url: `http://${id}`, ...overrides[id] })),
      health: { interval: 3600, path: '/healthz', rise: 1, fall: 1 },
    });
  const T = Date.now();

  it('is kept, stored and carried in every snapshot, the reporting isolate’s answer included', async () => {
    stubOrigins({ a: answersWith('a'), b: answersWith('b'), c: answersWith('c') });
    await coordinator().configure(config());
    const answer = await coordinator().reportControl([
      { originId: 'a', drain: true, at: T },
      { originId: 'b', weightPercent: 25, at: T + 1 },
      { originId: 'nope', drain: true, at: T },
    ]);
    const inForce = {
      a: { draining: true, drainingSince: T, weightPercent: 100 },
      b: { draining: false, weightPercent: 25, weightSince: T + 1 },
    };
    expect(answer.controls).toEqual(inForce);
    expect((await coordinator().snapshot()).controls).toEqual(inForce);
    await evictDurableObject(coordinator());
    expect((await coordinator().status()).controls).toEqual(inForce);
  });

  it('follows the latest word, whatever order isolates report it in', async () => {
    stubOrigins({ a: answersWith('a'), b: answersWith('b'), c: answersWith('c') });
    await coordinator().configure(config());
    await coordinator().reportControl([{ originId: 'a', drain: false, at: T + 2 }]);
    const late = await coordinator().reportControl([{ originId: 'a', drain: true, at: T + 1 }]);
    expect(late.controls).toEqual({});
  });

  it('gives way when the operator changes that origin, and keeps the words of the others', async () => {
    stubOrigins({ a: answersWith('a'), b: answersWith('b'), c: answersWith('c') });
    await coordinator().configure(config());
    await coordinator().reportControl([
      { originId: 'a', drain: true, at: T },
      { originId: 'b', drain: true, at: T },
    ]);
    await coordinator().configure(config({ a: { weight: 2 } }));
    expect(Object.keys((await coordinator().snapshot()).controls)).toEqual(['b']);
    await coordinator().configure(config({ a: { weight: 2 }, b: { state: 'disabled' } }));
    expect((await coordinator().snapshot()).controls).toEqual({});
  });

  it('is void once the probes have seen the origin down and back up (its process is gone)', async () => {
    let up = true;
    stubOrigins({
      a: () => (up ? new Response('ok') : new Response('down', { status: 503 })),
      b: answersWith('b'),
      c: answersWith('c'),
    });
    await coordinator().configure(config());
    await runRound();
    await coordinator().reportControl([{ originId: 'a', drain: true, at: Date.now() }]);
    expect(Object.keys((await coordinator().snapshot()).controls)).toEqual(['a']);
    up = false;
    vi.spyOn(Date, 'now').mockReturnValue(T + 60_000);
    await runRound();
    expect(Object.keys((await coordinator().snapshot()).controls)).toEqual(['a']); // down is not a restart yet
    up = true;
    vi.spyOn(Date, 'now').mockReturnValue(T + 120_000);
    await runRound();
    expect((await coordinator().snapshot()).controls).toEqual({});
  });
});

describe('the plan', () => {
  const a = { origins: [{ id: 'a', url: 'http://a' }], health: { interval: 3600 } };
  const b = { origins: [{ id: 'b', url: 'http://b' }], health: { interval: 3600 } };
  const later = (ms: number) => vi.spyOn(Date, 'now').mockReturnValue(Date.now() + ms);

  it('comes from KV, read by the coordinator itself, whichever isolate asks', async () => {
    stubOrigins({ a: answersWith('a'), b: answersWith('b') });
    await seedConfig(a);
    await coordinator().syncWithKv();
    expect((await coordinator().status()).planKey).toBe(planOf(a).key);
    await seedConfig(b);
    await coordinator().syncWithKv(); // within 5 s of the last read: KV is not read again
    expect((await coordinator().status()).planKey).toBe(planOf(a).key);
    later(6_000);
    await coordinator().syncWithKv();
    expect((await coordinator().status()).planKey).toBe(planOf(b).key);
  });

  it('from the admin API outranks KV for a minute, so a stale read cannot undo it', async () => {
    stubOrigins({ a: answersWith('a'), b: answersWith('b') });
    await seedConfig(a);
    await coordinator().configure(textOf(b));
    later(30_000);
    await coordinator().syncWithKv();
    expect((await coordinator().status()).planKey).toBe(planOf(b).key);
    later(61_000);
    await coordinator().syncWithKv();
    expect((await coordinator().status()).planKey).toBe(planOf(a).key);
  });

  it('and the coordinator’s own orders stay together, even if a restart cut in between', async () => {
    stubOrigins({ a: answersWith('a'), b: answersWith('b') });
    await coordinator().configure(textOf(a));
    await runInDurableObject(coordinator(), async (_, state) => {
      await state.storage.delete('orders');
      await state.storage.deleteAlarm();
    });
    await evictDurableObject(coordinator());
    await coordinator().configure(textOf(a)); // the same plan again
    await runRound();
    expect((await coordinator().status()).origins.a!.lastProbeAt).toEqual(expect.any(Number));
  });
});

describe('a shard the plan no longer has', () => {
  it('stops probing when it next publishes, even if it missed the order to stop', async () => {
    const origins = Array.from({ length: 12 }, (_, i) => ({ id: `o${i}`, url: `http://o${i}` }));
    stubOrigins(Object.fromEntries(origins.map((o) => [o.id, answersWith(o.id)])));
    const health = { interval: 100, timeout: 60 }; // six origins per object: two objects
    await coordinator().configure(textOf({ origins, health }));
    const orphan = testEnv.HEALTH_MONITOR.getByName('shard-1');
    const orders = await runInDurableObject(orphan, (_, state) => state.storage.get('orders'));
    expect(orders).toBeDefined();
    await coordinator().configure(textOf({ origins: origins.slice(0, 3), health }));
    // As if the order to stop had been lost: the orphan gets its old orders back.
    await orphan.assign(orders as never, {});
    expect(await runDurableObjectAlarm(orphan)).toBe(true);
    expect(await runInDurableObject(orphan, (_, state) => state.storage.get('orders'))).toBeUndefined();
    expect(await runInDurableObject(orphan, (_, state) => state.storage.getAlarm())).toBeNull();
  });
});

describe('the scheduled check', () => {
  it('gives the monitor the configuration in KV with no request at all, and follows changes', async () => {
    const config = { origins: [{ id: 'a', url: 'http://a' }], health: { interval: 3600 } };
    await seedConfig(config);
    stubOrigins({ a: answersWith('a'), b: answersWith('b') });
    const tick = () => worker.scheduled!(createScheduledController({ cron: '* * * * *' }), testEnv);
    await tick();
    expect((await coordinator().status()).planKey).toBe(planOf(config).key);
    const changed = { ...config, origins: [...config.origins, { id: 'b', url: 'http://b' }] };
    await seedConfig(changed);
    vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 60_000); // the next minute
    await tick();
    expect((await coordinator().status()).planKey).toBe(planOf(changed).key);
  });
});

describe('the routing path', () => {
  const config = {
    origins: ['a', 'b', 'c'].map((id) => ({ id, url: `http://${id}` })),
    health: { interval: 3600, fall: 1 },
  };

  it('gives the monitor its plan on the first request, and routes by its snapshot from then on', async () => {
    await seedConfig(config);
    // b serves traffic but fails its probes: only the snapshot can keep requests away from it (a
    // refused connection would eject it locally and hide whether the snapshot is read at all).
    const failsProbes: OriginBehaviour = (request) =>
      request.headers.get('user-agent') === PROBE_USER_AGENT
        ? new Response('probe says no', { status: 503 })
        : answersWith('b')(request);
    const seen = stubOrigins({ a: answersWith('a'), b: failsProbes, c: answersWith('c') });
    const worker = freshWorker({ HEALTH_MONITOR: testEnv.HEALTH_MONITOR });
    await worker.fetch('http://proxy.test/');
    expect((await coordinator().status()).planKey).toBe(planOf(config).key);
    await runRound(); // the probes find b down
    const toB = () =>
      seen.filter((r) => new URL(r.url).hostname === 'b' && r.headers.get('user-agent') !== PROBE_USER_AGENT);
    for (let i = 0; i < 30; i++) await worker.fetch('http://proxy.test/');
    expect(toB().length, 'the old snapshot still sends new sessions to b').toBeGreaterThan(0);
    vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 10_000); // next snapshot refresh due
    await worker.fetch('http://proxy.test/'); // refreshes it behind its response
    seen.length = 0;
    for (let i = 0; i < 30; i++) expect((await worker.fetch('http://proxy.test/')).status).toBe(200);
    expect(toB()).toEqual([]);
  });

  it('re-pins a session whose origin the probes call down before any attempt to reach it', async () => {
    await seedConfig(config);
    stubOrigins({ a: answersWith('a'), b: answersWith('b'), c: answersWith('c') });
    const worker = freshWorker({ HEALTH_MONITOR: testEnv.HEALTH_MONITOR });
    const sessions = await Promise.all(Array.from({ length: 20 }, () => worker.fetch('http://proxy.test/')));
    const onB = sessions.filter((r) => r.headers.get('x-served-by') === 'b').map((r) => affinityCookie(r)!);
    expect(onB.length).toBeGreaterThan(0);
    await coordinator().report([{ originId: 'b', count: 1, error: 'reset', at: Date.now() }]);
    vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 10_000);
    await worker.fetch('http://proxy.test/'); // refreshes the snapshot behind its response
    const seen = stubOrigins({ a: answersWith('a'), b: answersWith('b'), c: answersWith('c') });
    for (const cookie of onB) {
      const response = await worker.fetch('http://proxy.test/', { headers: { cookie } });
      expect(response.headers.get('x-served-by')).not.toBe('b');
      expect(affinityCookie(response)).toBeDefined();
    }
    expect(seen.filter((r) => new URL(r.url).hostname === 'b')).toEqual([]);
  });
});

describe('the last good configuration', () => {
  const a = { origins: [{ id: 'a', url: 'http://a' }], health: { interval: 3600 } };
  const reweighted = { ...a, origins: [{ id: 'a', url: 'http://a', weight: 2 }] };
  const later = (ms: number) => vi.spyOn(Date, 'now').mockReturnValue(Date.now() + ms);

  it('is the one the admin API handed over, kept in storage across a new instance of the coordinator', async () => {
    stubOrigins({ a: answersWith('a') });
    const before = Date.now();
    await coordinator().configure(textOf(a));
    await evictDurableObject(coordinator());
    const kept = await coordinator().lastGoodConfig();
    expect(kept).toEqual({ text: textOf(a), source: 'admin', adoptedAt: expect.any(Number) });
    expect(kept!.adoptedAt).toBeGreaterThanOrEqual(before);
  });

  it('is written in the same storage write as the plan derived from it, even when the plan stays the same', async () => {
    stubOrigins({ a: answersWith('a') });
    const puts = await runInDurableObject(coordinator(), (_, state) => vi.spyOn(state.storage, 'put'));
    await coordinator().configure(textOf(a));
    await coordinator().configure(textOf(reweighted)); // a weight: the plan does not change
    const written = puts.mock.calls.map(([entries]) => entries as Record<string, unknown>).filter((e) => 'config' in e);
    expect(written.map((entries) => (entries.config as { text: string }).text)).toEqual([
      textOf(a),
      textOf(reweighted),
    ]);
    for (const entries of written) {
      expect((entries.plan as { plan: { key: string } }).plan.key).toBe(planOf(a).key);
    }
  });

  it('follows good values in KV, a change of weight included, and outlives a bad value, a deleted key and a failed read', async () => {
    stubOrigins({ a: answersWith('a') });
    await seedConfig(a);
    await coordinator().syncWithKv();
    expect(await coordinator().lastGoodConfig()).toMatchObject({ text: textOf(a), source: 'kv' });
    await seedConfig(reweighted);
    later(6_000);
    await coordinator().syncWithKv();
    expect(await coordinator().lastGoodConfig()).toMatchObject({ text: textOf(reweighted), source: 'kv' });

    const warnings = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await seedConfig({ origins: [{ id: 'a', url: 'ftp://a' }] });
    later(12_000);
    await coordinator().syncWithKv();
    await testEnv.ORIGINS.delete('config');
    later(18_000);
    await coordinator().syncWithKv();
    await runInDurableObject(coordinator(), (instance) => {
      const { ORIGINS } = (instance as unknown as { env: typeof testEnv }).env;
      vi.spyOn(ORIGINS, 'get').mockRejectedValueOnce(new Error('KV unavailable'));
    });
    later(24_000);
    await coordinator().syncWithKv();
    expect(await coordinator().lastGoodConfig()).toMatchObject({ text: textOf(reweighted), source: 'kv' });
    expect(warnings.mock.calls.map((call) => JSON.parse(String(call[0])))).toContainEqual(
      expect.objectContaining({ event: 'config.invalid', reader: 'health-monitor', keptLastGood: true }),
    );
    expect(warnings.mock.calls.map((call) => JSON.parse(String(call[0])))).toContainEqual(
      expect.objectContaining({ event: 'config.read-failed', error: 'KV unavailable', keptLastGood: true }),
    );
  });

  it('is not replaced by a KV read that was under way when the admin API handed over a configuration', async () => {
    stubOrigins({ a: answersWith('a'), b: answersWith('b') });
    const b = { origins: [{ id: 'b', url: 'http://b' }], health: { interval: 3600 } };
    await seedConfig(a); // what KV still says at this location
    await runInDurableObject(coordinator(), (instance) => {
      const { ORIGINS } = (instance as unknown as { env: typeof testEnv }).env;
      const get = ORIGINS.get.bind(ORIGINS) as (key: string, type: 'text') => Promise<string | null>;
      // A slow read: the admin API's configuration arrives while it is under way.
      vi.spyOn(ORIGINS, 'get').mockImplementationOnce((async (key: string) => {
        await sleep(300);
        return get(key, 'text');
      }) as never);
    });
    const sync = coordinator().syncWithKv();
    await coordinator().configure(textOf(b));
    await sync;
    expect(await coordinator().lastGoodConfig()).toMatchObject({ text: textOf(b), source: 'admin' });
    expect((await coordinator().status()).planKey).toBe(planOf(b).key);
  });

  it('is none until a good configuration was adopted', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    await seedConfig({ origins: [] });
    await coordinator().syncWithKv();
    expect(await coordinator().lastGoodConfig()).toBeNull();
  });
});

describe('a fresh isolate while KV holds a bad value', () => {
  const config = { origins: ['a', 'b', 'c'].map((id) => ({ id, url: `http://${id}` })), health: { interval: 3600 } };
  const invalid = { origins: [{ id: 'a b', url: 'ftp://a' }] };
  const auth = { authorization: 'Bearer integration-admin-token' };

  it('serves with the last good configuration the coordinator kept, sessions keep their origins, and the status says why', async () => {
    await seedConfig(config);
    stubOrigins({ a: answersWith('a'), b: answersWith('b'), c: answersWith('c') });
    const warm = freshWorker({ HEALTH_MONITOR: testEnv.HEALTH_MONITOR });
    const sessions = await Promise.all(Array.from({ length: 12 }, () => warm.fetch('http://proxy.test/')));
    expect(await coordinator().lastGoodConfig()).toMatchObject({ source: 'kv', text: JSON.stringify(config) });

    vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    await seedConfig(invalid);
    const fresh = freshWorker({ HEALTH_MONITOR: testEnv.HEALTH_MONITOR });
    for (const session of sessions) {
      const response = await fresh.fetch('http://proxy.test/', { headers: { cookie: affinityCookie(session)! } });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-served-by')).toBe(session.headers.get('x-served-by'));
    }
    const status = await fresh.fetch('http://proxy.test/_affinity/status', { headers: auth });
    const { config: reported } = (await status.json()) as { config: Record<string, unknown> };
    expect(reported).toEqual({
      inForce: {
        source: 'last-good',
        appliedAt: expect.any(String),
        etag: expect.stringMatching(/^"[A-Za-z0-9_-]{22}"$/),
        lastGood: { source: 'kv', adoptedAt: expect.any(String) },
      },
      kv: {
        ok: false,
        failure: 'invalid',
        problems: [
          { path: 'origins[0].id', message: expect.any(String) },
          { path: 'origins[0].url', message: expect.any(String) },
        ],
        since: expect.any(String),
      },
    });
  });

  it('answers 503 as before when no good configuration was ever adopted', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    await seedConfig(invalid);
    const response = await freshWorker({ HEALTH_MONITOR: testEnv.HEALTH_MONITOR }).fetch('http://proxy.test/');
    expect(response.status).toBe(503);
    expect(await response.text()).toMatch(/invalid \(2 problem/);
  });
});
