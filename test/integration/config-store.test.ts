import { afterEach, describe, expect, it, vi } from 'vitest';
import { CONFIG_REFRESH_MS, ConfigStore } from '../../worker/config/config-store';
import { parseConfig } from '../../worker/core/config-parse';
import { seedConfig, testEnv } from './support';

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

/** The store's bindings: the real KV. */
const env = { ORIGINS: testEnv.ORIGINS };

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
    const store = new ConfigStore();
    const bg = background();
    for (let i = 0; i < 100; i++) await store.lookup({ ...env, ORIGINS: kv }, T0 + i, bg.run);
    expect(reads()).toBe(1);
    await store.lookup({ ...env, ORIGINS: kv }, T0 + CONFIG_REFRESH_MS, bg.run);
    await bg.settle();
    expect(reads()).toBe(2);
  });

  it('takes a change in KV within one refresh interval, without making a request wait for it', async () => {
    await seedConfig(good('a'));
    const store = new ConfigStore();
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
    const store = new ConfigStore();
    const first = await store.lookup(env, T0, () => {});
    const bg = background();
    await store.lookup(env, T0 + CONFIG_REFRESH_MS, bg.run);
    await bg.settle();
    const second = await store.lookup(env, T0 + CONFIG_REFRESH_MS + 1, () => {});
    expect(first.ok && second.ok && first.table === second.table).toBe(true);
  });

  it('keeps the last good configuration when KV gets an invalid one, logs the problems once and reports them', async () => {
    await seedConfig(good('a'));
    const store = new ConfigStore();
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
    const store = new ConfigStore();
    await originIds(store, T0);
    vi.spyOn(console, 'error').mockImplementation(() => {});
    await testEnv.ORIGINS.delete('config');
    expect(await originIds(store, T0 + CONFIG_REFRESH_MS)).toEqual(['a']);
  });

  it('says a configuration is invalid again after a failed KV read came between', async () => {
    await seedConfig({ origins: [] });
    const store = new ConfigStore();
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await originIds(store, T0)).toBe('invalid');
    vi.spyOn(testEnv.ORIGINS, 'get').mockRejectedValueOnce(new Error('KV unavailable'));
    expect(await originIds(store, T0 + 1000)).toBe('unreadable');
    expect(await originIds(store, T0 + 2000)).toBe('invalid');
  });

  it('reports a missing configuration, and retries KV at most once a second meanwhile', async () => {
    await testEnv.ORIGINS.delete('config');
    const { reads } = countedKv();
    const store = new ConfigStore();
    expect(await originIds(store, T0)).toBe('missing');
    expect(await originIds(store, T0 + 500)).toBe('missing');
    expect(reads()).toBe(1);
    await seedConfig(good('a'));
    expect(await originIds(store, T0 + 1000)).toEqual(['a']);
  });

  it('applies an admin change at once, and does not let a stale KV read undo it', async () => {
    await seedConfig(good('a'));
    const store = new ConfigStore();
    await originIds(store, T0);
    const parsed = parseConfig(good('b'));
    if (!parsed.ok) throw new Error('test configuration must be valid');
    store.apply(parsed.config, JSON.stringify(parsed.config), T0 + 1);
    expect(await originIds(store, T0 + 2)).toEqual(['b']);
    // KV still holds "a" here (as a location that has not seen the write yet would).
    expect(await originIds(store, T0 + 1 + CONFIG_REFRESH_MS)).toEqual(['b']);
  });
});
