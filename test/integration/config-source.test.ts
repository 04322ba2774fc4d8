import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CONFIG_KEY,
  logConfigFailure,
  readConfig,
  readConfigText,
  storeConfig,
} from '../../worker/config/config-source';
import { parseConfig } from '../../worker/core/config/config-parse';
import { seedConfig, testEnv } from './support';

const kv = testEnv.ORIGINS;
const GOOD = { origins: [{ id: 'a', url: 'https://a.example.com' }] };

afterEach(() => vi.restoreAllMocks());

describe('the configuration source', () => {
  it('reads a good value: its exact text and the configuration with every default filled in', async () => {
    await seedConfig(GOOD);
    const read = await readConfig(kv);
    expect(read).toMatchObject({ ok: true, text: JSON.stringify(GOOD) });
    expect(read.ok && read.config.origins).toEqual([
      { id: 'a', url: 'https://a.example.com', weight: 1, state: 'active' },
    ]);
  });

  it('calls an absent key missing', async () => {
    await kv.delete(CONFIG_KEY);
    expect(await readConfig(kv)).toEqual({ ok: false, failure: 'missing' });
    expect(await readConfigText(kv)).toEqual({ ok: false, failure: 'missing' });
  });

  it.each([
    ['text that is not JSON', '{"origins": [', [{ path: '(root)', message: expect.stringMatching(/not valid JSON/) }]],
    [
      'JSON the schema refuses',
      { origins: [{ id: 'a', url: 'ftp://a' }], affinity: { wieght: 1 } },
      [
        { path: 'origins[0].url', message: expect.stringMatching(/http: or https:/) },
        { path: 'affinity.wieght', message: expect.stringMatching(/not a known setting/) },
      ],
    ],
  ])('calls %s invalid, listing every problem', async (_, value, problems) => {
    await seedConfig(value);
    expect(await readConfig(kv)).toEqual({ ok: false, failure: 'invalid', problems });
  });

  it('hands over an invalid text unparsed to a reader that only compares texts (If-Match)', async () => {
    await seedConfig('{"origins": [');
    expect(await readConfigText(kv)).toEqual({ ok: true, text: '{"origins": [' });
  });

  it('calls a failed read unreadable, with the reason, instead of throwing', async () => {
    vi.spyOn(kv, 'get').mockRejectedValueOnce(new Error('KV GET failed: 500 Internal Server Error'));
    expect(await readConfig(kv)).toEqual({
      ok: false,
      failure: 'unreadable',
      reason: 'KV GET failed: 500 Internal Server Error',
    });
  });

  it('stores a configuration as the text that every reader then reads back', async () => {
    const parsed = parseConfig(GOOD);
    if (!parsed.ok) throw new Error('test configuration must be valid');
    const stored = await storeConfig(kv, parsed.config);
    expect(stored).toEqual({ ok: true, text: JSON.stringify(parsed.config, null, 2) });
    expect(await readConfigText(kv)).toEqual(stored);
    expect(await readConfig(kv)).toEqual({ ...stored, config: parsed.config });
  });

  it('says when a configuration could not be stored, instead of throwing', async () => {
    const parsed = parseConfig(GOOD);
    if (!parsed.ok) throw new Error('test configuration must be valid');
    vi.spyOn(kv, 'put').mockRejectedValueOnce(new Error('KV PUT failed: 429 Too Many Requests'));
    expect(await storeConfig(kv, parsed.config)).toEqual({ ok: false, reason: 'KV PUT failed: 429 Too Many Requests' });
  });

  it('logs each kind of failure under its own event, with every problem', () => {
    const lines = vi.spyOn(console, 'error').mockImplementation(() => {});
    logConfigFailure('error', { ok: false, failure: 'missing' }, { keptLastGood: true });
    logConfigFailure('error', { ok: false, failure: 'unreadable', reason: 'timeout' }, { keptLastGood: false });
    const problems = [
      { path: 'origins', message: 'must list at least one origin' },
      { path: 'health.interval', message: 'must be at least 1' },
    ];
    logConfigFailure('error', { ok: false, failure: 'invalid', problems }, { keptLastGood: true });
    expect(lines.mock.calls.map((call) => JSON.parse(String(call[0])))).toEqual([
      { level: 'error', event: 'config.missing', key: 'config', keptLastGood: true },
      { level: 'error', event: 'config.read-failed', key: 'config', keptLastGood: false, error: 'timeout' },
      {
        level: 'error',
        event: 'config.invalid',
        key: 'config',
        keptLastGood: true,
        problems: 'origins: must list at least one origin\nhealth.interval: must be at least 1',
      },
    ]);
  });
});
