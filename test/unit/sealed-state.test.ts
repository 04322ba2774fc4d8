import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  importStateKey,
  MAX_STATE_BYTES,
  openState,
  packAscii,
  readStateCookie,
  readStateWord,
  sealState,
  stateTag,
  unpackAscii,
  type StateContents,
  type StateKeys,
} from '../../worker/core/session/sealed-state';

const visibleAscii = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: MAX_STATE_BYTES,
});
const iv = () => crypto.getRandomValues(new Uint8Array(12));
const NOW = 1_800_000_000;

const contents = (overrides: Partial<StateContents> = {}): StateContents => ({
  cookie: '__affinity',
  sessionId: 'c2Vzc2lvbi1pZC0xMjM0',
  originId: 'app-1',
  issuedAt: NOW,
  value: 'eyJjYXJ0IjpbInRlYSJdfQ',
  ...overrides,
});

async function keysFor(secret: string, previous?: string): Promise<StateKeys> {
  const current = await importStateKey(secret);
  return previous ? { current, previous: await importStateKey(previous) } : { current };
}

/** Seals `state` and opens it as the session that holds the token tag of `state` expects. */
async function roundTrip(
  state: StateContents,
  sealing: StateKeys,
  opening: StateKeys,
  expect: Partial<{ sessionId: string; cookie: string; tagOf: string; nowSeconds: number }> = {},
) {
  const text = await sealState(state, sealing.current, iv());
  const tag = await stateTag(state.sessionId, state.originId, expect.tagOf ?? state.value, sealing.current);
  return openState(
    readStateCookie(text)!,
    {
      cookie: expect.cookie ?? state.cookie,
      sessionId: expect.sessionId ?? state.sessionId,
      stateTag: tag,
      nowSeconds: expect.nowSeconds ?? NOW + 10,
      maxAgeSeconds: 3600,
    },
    opening,
  );
}

describe('packing visible ASCII in 7 bits', () => {
  it('gives every value back exactly, in 7/8 of its length', () => {
    fc.assert(
      fc.property(visibleAscii, (value) => {
        const packed = packAscii(value);
        expect(packed.length).toBe(Math.ceil((value.length * 7) / 8));
        expect(unpackAscii(packed)).toBe(value);
      }),
      { numRuns: 500 },
    );
  });
});

describe('a sealed state', () => {
  it('opens for its session, cookie and token, and gives the value and its origin back', async () => {
    const keys = await keysFor('secret-one');
    await fc.assert(
      fc.asyncProperty(visibleAscii, async (value) => {
        const opened = await roundTrip(contents({ value }), keys, keys);
        expect(opened).toEqual({ ok: true, value, originId: 'app-1', issuedAt: NOW, signedWith: 'current' });
      }),
      { numRuns: 50 },
    );
  });

  it('fits a browser cookie at the size limit: 4,096 bytes with its name, whatever the origin id', async () => {
    const keys = await keysFor('secret-one');
    const text = await sealState(
      contents({ value: '~'.repeat(MAX_STATE_BYTES), originId: 'o'.repeat(64) }),
      keys.current,
      iv(),
    );
    expect(`__affinity_state=${text}`.length).toBeLessThanOrEqual(4096);
    expect(readStateCookie(text)).toBeDefined();
  });

  it('shows nothing of the value: the same value sealed twice reads differently, and never in clear', async () => {
    const keys = await keysFor('secret-one');
    const [a, b] = await Promise.all([
      sealState(contents(), keys.current, iv()),
      sealState(contents(), keys.current, iv()),
    ]);
    expect(a).not.toBe(b);
    for (const text of [a, b]) expect(text).not.toContain('eyJjYXJ0');
  });

  it('does not open when any character of it is changed', async () => {
    const keys = await keysFor('secret-one');
    const text = await sealState(contents(), keys.current, iv());
    const tag = await stateTag(contents().sessionId, contents().originId, contents().value, keys.current);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: text.length - 1 }), fc.constantFrom(...'AQgw_-09a.'), async (at, char) => {
        fc.pre(text[at] !== char);
        const changed = text.slice(0, at) + char + text.slice(at + 1);
        const cookie = readStateCookie(changed);
        if (!cookie) return; // no longer has the form: refused before any cryptography
        const opened = await openState(
          cookie,
          {
            cookie: '__affinity',
            sessionId: contents().sessionId,
            stateTag: tag,
            nowSeconds: NOW,
            maxAgeSeconds: 3600,
          },
          keys,
        );
        expect(opened.ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('does not open for another session, another cookie name, or under another secret', async () => {
    const keys = await keysFor('secret-one');
    expect(await roundTrip(contents(), keys, keys, { sessionId: 'b3RoZXItc2Vzc2lvbi1pZA' })).toEqual({
      ok: false,
      reason: 'forged',
    });
    expect(await roundTrip(contents(), keys, keys, { cookie: 'other' })).toEqual({ ok: false, reason: 'forged' });
    expect(await roundTrip(contents(), keys, await keysFor('secret-two'))).toEqual({ ok: false, reason: 'forged' });
  });

  it('is not taken when the token names a newer state: an old state kept by the client is replaced', async () => {
    const keys = await keysFor('secret-one');
    expect(await roundTrip(contents({ value: 'old-cart' }), keys, keys, { tagOf: 'new-cart' })).toEqual({
      ok: false,
      reason: 'replaced',
    });
  });

  it('is not taken once re-sealed for another origin: the token names the new one only', async () => {
    const keys = await keysFor('secret-one');
    const old = await sealState(contents({ originId: 'app-1' }), keys.current, iv());
    const tagOfNew = await stateTag(contents().sessionId, 'app-2', contents().value, keys.current);
    const opened = await openState(
      readStateCookie(old)!,
      {
        cookie: '__affinity',
        sessionId: contents().sessionId,
        stateTag: tagOfNew,
        nowSeconds: NOW,
        maxAgeSeconds: 3600,
      },
      keys,
    );
    expect(opened).toEqual({ ok: false, reason: 'replaced' });
  });

  it('is dropped once older than the session could be idle', async () => {
    const keys = await keysFor('secret-one');
    expect(await roundTrip(contents(), keys, keys, { nowSeconds: NOW + 3601 })).toEqual({ ok: false, reason: 'stale' });
    expect((await roundTrip(contents(), keys, keys, { nowSeconds: NOW + 3600 })).ok).toBe(true);
  });

  it('opens under the previous secret during a rotation, and says so', async () => {
    const old = await keysFor('secret-one');
    const rotated = await keysFor('secret-two', 'secret-one');
    expect(await roundTrip(contents(), old, rotated)).toMatchObject({ ok: true, signedWith: 'previous' });
  });
});

describe('what an origin says in Affinity-State', () => {
  it('is a value of visible ASCII up to the limit, or ;clear; anything else is refused, saying why', () => {
    expect(readStateWord('eyJjYXJ0Ijpb')).toEqual({ kind: 'set', value: 'eyJjYXJ0Ijpb' });
    expect(readStateWord('x'.repeat(MAX_STATE_BYTES))).toMatchObject({ kind: 'set' });
    expect(readStateWord(';clear')).toEqual({ kind: 'clear' });
    expect(readStateWord('x'.repeat(MAX_STATE_BYTES + 1))).toEqual({
      kind: 'refused',
      reason: 'too-large',
      bytes: MAX_STATE_BYTES + 1,
    });
    expect(readStateWord('a b')).toMatchObject({ kind: 'refused', reason: 'not-visible-ascii' });
    expect(readStateWord('café')).toMatchObject({ kind: 'refused', reason: 'not-visible-ascii' });
    expect(readStateWord('')).toMatchObject({ kind: 'refused', reason: 'empty' });
  });
});
