import { coordinatorOf } from '../../worker/monitor/monitor-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CONFIG_REFRESH_MS, ConfigStore } from '../../worker/config/config-store';
import { parseConfig } from '../../worker/core/config/config-parse';
import { FakeMonitor, seedConfig, testEnv } from './support';

const good = (id: string) => ({ origins: [{ id, url: `https://${id}.example.com` }] });
const T0 = 1_000_000;

/** The KV binding, with its reads counted. */
function countedKv() {
  const get = vi.spyOn(testEnv.ORIGINS, 'get');
  return { kv: testEnv.ORIGINS, reads: () => get.mock.calls.length };
}

/** Background tasks, collected so that a test can wait for them. */
function background() {
  const tasks: Promise<unknown>[] = [];
  return { run: (task: Promise<unknown>) => void tasks.push(task), settle: () => Promise.all(tasks.splice(0)) };
}

afterEach(() => vi.restoreAllMocks());

/** The store's bindings: the real KV, and a health monitor whose last good configuration a test sets. */
let monitor: FakeMonitor;
/** The isolate's own ask: the (fake) coordinator's last good configuration. */
const keptByCoordinator = (bindings: typeof env) => coordinatorOf(bindings.HEALTH_MONITOR).lastGoodConfig();

let env: { ORIGINS: KVNamespace; HEALTH_MONITOR: ReturnType<FakeMonitor['binding']> };
beforeEach(() => {
  monitor = new FakeMonitor();
  env = { ORIGINS: testEnv.ORIGINS, HEALTH_MONITOR: monitor.binding() };
});

/** What the admin API does after storing a configuration: puts it in force in this isolate. */
function applyAsAdmin(store: ConfigStore, config: object, now: number): void {
  const parsed = parseConfig(config);
  if (!parsed.ok) throw new Error('test configuration must be valid');
  store.apply(parsed.config, JSON.stringify(parsed.config), now);
}

/** The origins in force once a lookup at `now`, and the background refresh it may start, are done. */
async function originIds(store: ConfigStore, now: number, bg = background()) {
  await store.lookup(env, now, bg.run);
  await bg.settle();
  const lookup = await store.lookup(env, now, () => {
    throw new Error('no second refresh is due at the same moment');
  });
  return lookup.ok ? lookup.table.origins.map((o) => o.id) : lookup.failure;
}

describe('ConfigStore', () => {
  it('reads KV once, then serves from memory until the refresh interval', async () => {
    await seedConfig(good('a'));
    const { kv, reads } = countedKv();
    const store = new ConfigStore(keptByCoordinator);
    const bg = background();
    for (let i = 0; i < 100; i++) await store.lookup({ ...env, ORIGINS: kv }, T0 + i, bg.run);
    expect(reads()).toBe(1);
    await store.lookup({ ...env, ORIGINS: kv }, T0 + CONFIG_REFRESH_MS, bg.run);
    await bg.settle();
    expect(reads()).toBe(2);
  });

  it('takes a change in KV within one refresh interval, without making a request wait for it', async () => {
    await seedConfig(good('a'));
    const store = new ConfigStore(keptByCoordinator);
    expect(await originIds(store, T0)).toEqual(['a']);
    await seedConfig(good('b'));
    expect(await originIds(store, T0 + CONFIG_REFRESH_MS - 1)).toEqual(['a']);
    const bg = background();
    const stale = await store.lookup(env, T0 + CONFIG_REFRESH_MS, bg.run);
    expect(stale.ok && stale.table.origins[0]!.id).toBe('a'); // served at once, refreshed behind
    await bg.settle();
    expect(await originIds(store, T0 + CONFIG_REFRESH_MS + 1)).toEqual(['b']);
  });

  it('parses a configuration once per change, not per refresh', async () => {
    await seedConfig(good('a'));
    const store = new ConfigStore(keptByCoordinator);
    const first = await store.lookup(env, T0, () => {});
    const bg = background();
    await store.lookup(env, T0 + CONFIG_REFRESH_MS, bg.run);
    await bg.settle();
    const second = await store.lookup(env, T0 + CONFIG_REFRESH_MS + 1, () => {});
    expect(first.ok && second.ok && first.table === second.table).toBe(true);
  });

  it('keeps the last good configuration when KV gets an invalid one, logs the problems once and reports them', async () => {
    await seedConfig(good('a'));
    const store = new ConfigStore(keptByCoordinator);
    await originIds(store, T0);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    await seedConfig({ origins: [{ id: 'a', url: 'ftp://a' }] });
    expect(await originIds(store, T0 + CONFIG_REFRESH_MS)).toEqual(['a']);
    expect(await originIds(store, T0 + 2 * CONFIG_REFRESH_MS)).toEqual(['a']);
    expect(errors).toHaveBeenCalledTimes(1);
    expect(JSON.parse(String(errors.mock.calls[0]![0]))).toMatchObject({ event: 'config.invalid', keptLastGood: true });
    expect(store.state().kvFailure).toEqual({
      ok: false,
      failure: 'invalid',
      problems: [{ path: 'origins[0].url', message: expect.stringMatching(/http: or https:/) }],
      since: T0 + CONFIG_REFRESH_MS,
    });
  });

  it('keeps the last good configuration when the key disappears', async () => {
    await seedConfig(good('a'));
    const store = new ConfigStore(keptByCoordinator);
    await originIds(store, T0);
    vi.spyOn(console, 'error').mockImplementation(() => {});
    await testEnv.ORIGINS.delete('config');
    expect(await originIds(store, T0 + CONFIG_REFRESH_MS)).toEqual(['a']);
  });

  it('says a configuration is invalid again after a failed KV read came between', async () => {
    await seedConfig({ origins: [] });
    const store = new ConfigStore(keptByCoordinator);
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await originIds(store, T0)).toBe('invalid');
    vi.spyOn(testEnv.ORIGINS, 'get').mockRejectedValueOnce(new Error('KV unavailable'));
    expect(await originIds(store, T0 + 1000)).toBe('unreadable');
    expect(await originIds(store, T0 + 2000)).toBe('invalid');
  });

  it('reports a missing configuration, and retries KV at most once a second meanwhile', async () => {
    await testEnv.ORIGINS.delete('config');
    const { reads } = countedKv();
    const store = new ConfigStore(keptByCoordinator);
    expect(await originIds(store, T0)).toBe('missing');
    expect(await originIds(store, T0 + 500)).toBe('missing');
    expect(reads()).toBe(1);
    await seedConfig(good('a'));
    expect(await originIds(store, T0 + 1000)).toEqual(['a']);
  });

  it('applies an admin change at once, and does not let a stale KV read undo it', async () => {
    await seedConfig(good('a'));
    const store = new ConfigStore(keptByCoordinator);
    await originIds(store, T0);
    applyAsAdmin(store, good('b'), T0 + 1);
    expect(await originIds(store, T0 + 2)).toEqual(['b']);
    // KV still holds "a" here (as a location that has not seen the write yet would).
    expect(await originIds(store, T0 + 1 + CONFIG_REFRESH_MS)).toEqual(['b']);
  });

  it('takes a newer KV value written after an admin change, good or bad, without waiting out the stale-read guard', async () => {
    await seedConfig(good('a'));
    const store = new ConfigStore(keptByCoordinator);
    await originIds(store, T0);
    applyAsAdmin(store, good('b'), T0 + 1);
    await seedConfig(good('c')); // written after the PUT, by wrangler or another isolate
    expect(await originIds(store, T0 + 1 + CONFIG_REFRESH_MS)).toEqual(['c']);
    await seedConfig({ origins: [{ id: 'bad', url: 'ftp://bad' }] });
    expect(await originIds(store, T0 + 1 + 2 * CONFIG_REFRESH_MS)).toEqual(['c']);
    expect(store.state().kvFailure).toMatchObject({ failure: 'invalid' });
  });
});

describe('ConfigStore in an isolate that starts while KV holds nothing usable', () => {
  const INVALID = { origins: [{ id: 'a', url: 'ftp://a' }] };
  /** What the coordinator kept: configuration "kept", read from KV an hour before T0. */
  const keptByMonitor = () => ({
    text: JSON.stringify(good('kept')),
    source: 'kv' as const,
    adoptedAt: T0 - 3_600_000,
  });
  const kvStates = {
    'an invalid value': () => seedConfig(INVALID),
    'no key (deleted)': () => testEnv.ORIGINS.delete('config'),
    'a failed read': () => void vi.spyOn(testEnv.ORIGINS, 'get').mockRejectedValue(new Error('KV unavailable')),
  };
  const logged = (spy: { mock: { calls: unknown[][] } }) => spy.mock.calls.map((call) => JSON.parse(String(call[0])));

  it.each(Object.entries(kvStates))(
    'serves the last good configuration the health monitor kept when KV has %s, and says so',
    async (_, arrange) => {
      await arrange();
      monitor.lastGood = keptByMonitor();
      const warnings = vi.spyOn(console, 'warn').mockImplementation(() => {});
      vi.spyOn(console, 'error').mockImplementation(() => {});
      const store = new ConfigStore(keptByCoordinator);
      expect(await originIds(store, T0)).toEqual(['kept']);
      expect(store.state().inForce).toMatchObject({
        source: 'last-good',
        appliedAt: T0,
        text: monitor.lastGood.text,
        lastGood: { source: 'kv', adoptedAt: T0 - 3_600_000 },
      });
      expect(store.state().kvFailure).toMatchObject({ ok: false, since: T0 });
      expect(logged(warnings)).toContainEqual(
        expect.objectContaining({ event: 'config.last-good-applied', lastGoodSource: 'kv', origins: 1 }),
      );
    },
  );

  it('asks the monitor once for concurrent first requests, and at most once a second while it has none', async () => {
    await seedConfig(INVALID);
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const store = new ConfigStore(keptByCoordinator);
    const first = await Promise.all(Array.from({ length: 20 }, () => store.lookup(env, T0, () => {})));
    expect(first.every((lookup) => !lookup.ok && lookup.failure === 'invalid')).toBe(true);
    expect(monitor.lastGoodCalls).toBe(1);
    await store.lookup(env, T0 + 999, () => {});
    expect(monitor.lastGoodCalls).toBe(1);
    monitor.lastGood = keptByMonitor();
    expect(await originIds(store, T0 + 1000)).toEqual(['kept']);
    expect(monitor.lastGoodCalls).toBe(2);
  });

  it('moves to the value in KV as soon as it is good again, as a warm isolate does', async () => {
    await seedConfig(INVALID);
    monitor.lastGood = keptByMonitor();
    vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const store = new ConfigStore(keptByCoordinator);
    expect(await originIds(store, T0)).toEqual(['kept']);
    expect(await originIds(store, T0 + CONFIG_REFRESH_MS)).toEqual(['kept']); // still invalid: unchanged
    await seedConfig(good('b'));
    expect(await originIds(store, T0 + 2 * CONFIG_REFRESH_MS)).toEqual(['b']);
    expect(store.state()).toMatchObject({ inForce: { source: 'kv' }, kvFailure: undefined });
    expect(monitor.lastGoodCalls).toBe(1);
  });

  it('never asks the monitor while it has a configuration of its own', async () => {
    await seedConfig(good('a'));
    monitor.lastGood = keptByMonitor();
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const store = new ConfigStore(keptByCoordinator);
    expect(await originIds(store, T0)).toEqual(['a']);
    await seedConfig(INVALID);
    expect(await originIds(store, T0 + CONFIG_REFRESH_MS)).toEqual(['a']);
    expect(monitor.lastGoodCalls).toBe(0);
  });

  it('does not apply a kept configuration that today’s rules refuse, and says why', async () => {
    await seedConfig(INVALID);
    monitor.lastGood = {
      ...keptByMonitor(),
      text: JSON.stringify({ origins: [{ id: 'x', url: 'http://x', wieght: 2 }] }),
    };
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const store = new ConfigStore(keptByCoordinator);
    expect(await originIds(store, T0)).toBe('invalid');
    expect(logged(errors)).toContainEqual(expect.objectContaining({ event: 'config.invalid', reader: 'last-good' }));
  });

  it('answers as before when the monitor has none or cannot be reached: what is wrong with KV', async () => {
    await seedConfig(INVALID);
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const warnings = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(await originIds(new ConfigStore(keptByCoordinator), T0)).toBe('invalid');
    monitor.lastGood = new Error('Durable Object unavailable');
    expect(await originIds(new ConfigStore(keptByCoordinator), T0)).toBe('invalid');
    expect(logged(warnings)).toEqual([
      expect.objectContaining({ event: 'config.last-good-unavailable', error: 'Durable Object unavailable' }),
    ]);
  });
});
