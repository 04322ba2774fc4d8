/**
 * Property-based and fuzz tests of the envelope of learned values.
 *
 * The oracle: a text opens only if it is, character for character, what `sealLearnedValue` produced
 * with a configured key for that very learned name, and then it gives back exactly the origin id and
 * the value that were sealed. Everything else a client can send — garbage, near misses built from the
 * envelope's own alphabet, mutations of genuine envelopes, genuine envelopes of another learned name,
 * affinity cookies of the same secret — does not open, and opening never throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  importSigningKey,
  signAffinityToken,
  verifyAffinityToken,
  type SigningKeys,
} from '../../worker/core/session/affinity-token';
import {
  MAX_ENVELOPE_LENGTH,
  MAX_LEARNED_VALUE_BYTES,
  importEnvelopeKey,
  openEnvelope,
  sealLearnedValue,
  type EnvelopeOpening,
  type LearnedValue,
} from '../../worker/core/session/learned-envelope';

const current = await importEnvelopeKey('current secret');
const previous = await importEnvelopeKey('previous secret');
const unconfigured = await importEnvelopeKey('some other secret');
const cookieKey = await importSigningKey('current secret');
const KEYS: SigningKeys = { current, previous };
const SIGNERS = { current, previous } as const;

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const ID_CHARS = `${B64URL}.`;
const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const chars = (alphabet: string) => fc.constantFrom(...alphabet);
const utf8Length = (text: string) => new TextEncoder().encode(text).length;

const originIdArb = fc.oneof(
  fc.string({ unit: chars(ID_CHARS), minLength: 1, maxLength: 64 }),
  fc.constantFrom('app-1', 'eu.app-7', '.', '-', '_', 'a.', '.b', 'o'.repeat(64)),
);
const learnedArb = fc.oneof(
  fc.constantFrom('header:mcp-session-id', 'cookie:JSESSIONID', 'header:x-session', 'cookie:sid'),
  fc
    .tuple(fc.constantFrom('header', 'cookie'), fc.string({ unit: chars(TOKEN_CHARS), minLength: 1, maxLength: 30 }))
    .map(([kind, name]) => `${kind}:${name}`),
);
/** What an origin can send: header values are byte strings; any well-formed text is carried as well. */
const valueArb = fc
  .oneof(
    fc.uuid(),
    fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 80 }),
    fc.string({
      unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)),
      minLength: 1,
      maxLength: 80,
    }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
    fc.string({ unit: chars(B64URL + '.'), minLength: 1, maxLength: 120 }),
    fc.integer({ min: MAX_LEARNED_VALUE_BYTES - 3, max: MAX_LEARNED_VALUE_BYTES }).map((n) => 'v'.repeat(n)),
  )
  .filter((value) => utf8Length(value) <= MAX_LEARNED_VALUE_BYTES);
const contentsArb: fc.Arbitrary<LearnedValue> = fc.record({
  originId: originIdArb,
  learned: learnedArb,
  value: valueArb,
});
const signerArb = fc.constantFrom('current', 'previous') as fc.Arbitrary<keyof typeof SIGNERS>;

async function seal(contents: LearnedValue, signer = current): Promise<string> {
  const sealing = await sealLearnedValue(contents, signer);
  if (!sealing.ok) throw new Error(`not sealed: ${sealing.reason}`);
  return sealing.envelope;
}

/** openEnvelope; a throw or a rejection fails the property with the text that caused it. */
async function open(text: string, learned: string, keys: SigningKeys = KEYS): Promise<EnvelopeOpening> {
  const opening = await openEnvelope(text, learned, keys);
  expect(typeof opening.ok).toBe('boolean');
  return opening;
}

const anyCharArb = fc.oneof(
  chars(B64URL + '.'),
  fc.constantFrom(' ', '=', '+', '/', '%', ';', ',', '"', '\n', '\t', '\0', 'é', '\u{1F36A}'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);

type Mutation =
  | { kind: 'replace'; at: number; char: string }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'toggle-case'; at: number }
  | { kind: 'truncate'; length: number }
  | { kind: 'origin'; originId: string }
  | { kind: 'value'; value: string }
  | { kind: 'key-id'; keyId: 'previous' | 'unconfigured' | 'cookie' }
  | { kind: 're-sign'; under: 'unconfigured' | 'cookie' }
  | { kind: 'splice'; value: string };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), char: anyCharArb }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.string({ unit: anyCharArb, minLength: 1, maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('toggle-case' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), length: fc.nat() }),
  fc.record({ kind: fc.constant('origin' as const), originId: originIdArb }),
  fc.record({ kind: fc.constant('value' as const), value: valueArb }),
  fc.record({
    kind: fc.constant('key-id' as const),
    keyId: fc.constantFrom('previous' as const, 'unconfigured' as const, 'cookie' as const),
  }),
  fc.record({
    kind: fc.constant('re-sign' as const),
    under: fc.constantFrom('unconfigured' as const, 'cookie' as const),
  }),
  fc.record({ kind: fc.constant('splice' as const), value: valueArb }),
);

async function mutate(
  envelope: string,
  contents: LearnedValue,
  signer: typeof current,
  mutation: Mutation,
): Promise<string> {
  const at = (n: number) => n % envelope.length;
  const parts = envelope.split('.');
  const [version, keyId] = parts as [string, string];
  const [value, signature] = parts.slice(-2) as [string, string];
  const encode = (text: string) => Buffer.from(text).toString('base64url');
  switch (mutation.kind) {
    case 'replace':
      return envelope.slice(0, at(mutation.at)) + mutation.char + envelope.slice(at(mutation.at) + 1);
    case 'insert':
      return envelope.slice(0, at(mutation.at)) + mutation.text + envelope.slice(at(mutation.at));
    case 'delete':
      return envelope.slice(0, at(mutation.at)) + envelope.slice(at(mutation.at) + mutation.count);
    case 'toggle-case': {
      const c = envelope[at(mutation.at)]!;
      const toggled = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
      return envelope.slice(0, at(mutation.at)) + toggled + envelope.slice(at(mutation.at) + 1);
    }
    case 'truncate':
      return envelope.slice(0, mutation.length % envelope.length);
    case 'origin':
      return [version, keyId, mutation.originId, value, signature].join('.');
    case 'value':
      return [version, keyId, contents.originId, encode(mutation.value), signature].join('.');
    case 'key-id': {
      const ids = { previous: previous.id, unconfigured: unconfigured.id, cookie: cookieKey.id };
      return [version, ids[mutation.keyId], ...parts.slice(2)].join('.');
    }
    case 're-sign': {
      // Sealed by an attacker with another key, under a configured key id.
      const key = mutation.under === 'cookie' ? cookieKey.key : unconfigured.key;
      return seal(contents, { id: signer.id, key });
    }
    case 'splice': {
      // This envelope's payload with the signature of another one, genuinely sealed with the same key.
      const other = await seal({ ...contents, value: mutation.value }, signer);
      return `${envelope.slice(0, envelope.length - signature.length)}${other.split('.').at(-1)!}`;
    }
  }
}

describe('openEnvelope, on anything a client can send', () => {
  it('never throws and opens no string it did not seal (unicode, control characters, very long strings)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.string({ unit: 'grapheme', maxLength: 300 }),
          fc.string({ unit: 'binary', minLength: MAX_ENVELOPE_LENGTH - 10, maxLength: MAX_ENVELOPE_LENGTH + 10 }),
        ),
        learnedArb,
        async (text, learned) => {
          expect((await open(text, learned)).ok).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never throws and opens nothing built from the envelope alphabet, configured key ids included', async () => {
    const shapedArb = fc
      .tuple(
        fc.constantFrom('1', '0', '2', ''),
        fc.oneof(
          fc.constantFrom(current.id, previous.id, cookieKey.id),
          fc.string({ unit: chars(B64URL), minLength: 5, maxLength: 7 }),
        ),
        originIdArb,
        fc.string({ unit: chars(B64URL), minLength: 1, maxLength: 60 }),
        fc.string({ unit: chars(B64URL), minLength: 42, maxLength: 44 }),
      )
      .map((parts) => parts.join('.'));
    await fc.assert(
      fc.asyncProperty(shapedArb, learnedArb, async (text, learned) => {
        expect(await open(text, learned)).toMatchObject({ ok: false });
      }),
      { numRuns: 3000 },
    );
  });

  it('calls every change to a sealed envelope not open, and never throws', async () => {
    await fc.assert(
      fc.asyncProperty(contentsArb, signerArb, mutationArb, async (contents, signerName, mutation) => {
        const signer = SIGNERS[signerName];
        const envelope = await seal(contents, signer);
        const mutant = await mutate(envelope, contents, signer, mutation);
        fc.pre(mutant !== envelope); // reproducing the original exactly is no forgery
        expect(await open(mutant, contents.learned), `${envelope} → ${mutant}`).toMatchObject({ ok: false });
      }),
      { numRuns: 3000 },
    );
  });

  it('opens a sealed envelope under no other learned name', async () => {
    await fc.assert(
      fc.asyncProperty(contentsArb, learnedArb, async (contents, other) => {
        fc.pre(other !== contents.learned);
        expect(await open(await seal(contents), other)).toEqual({ ok: false, reason: 'forged' });
      }),
      { numRuns: 1000 },
    );
  });

  it('never opens an affinity cookie of the same secret, nor verifies an envelope as one', async () => {
    const b64 = (min: number, max: number) => fc.string({ unit: chars(B64URL), minLength: min, maxLength: max });
    await fc.assert(
      fc.asyncProperty(
        fc.record({ originId: originIdArb, sessionId: b64(16, 16), expiresAt: fc.integer({ min: 1, max: 36 ** 7 }) }),
        contentsArb,
        learnedArb,
        async (claims, contents, learned) => {
          const token = await signAffinityToken(claims, cookieKey);
          expect((await open(token, learned)).ok, token).toBe(false);
          const envelope = await seal(contents);
          expect(await verifyAffinityToken(envelope, { current: cookieKey }, 0)).toEqual({ status: 'invalid' });
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('sealLearnedValue and openEnvelope, round trip', () => {
  it('gives back exactly the origin id and value it sealed, under the current or the previous key', async () => {
    await fc.assert(
      fc.asyncProperty(contentsArb, signerArb, async (contents, signedWith) => {
        const envelope = await seal(contents, SIGNERS[signedWith]);
        expect(await open(envelope, contents.learned)).toEqual({
          ok: true,
          originId: contents.originId,
          value: contents.value,
          signedWith,
        });
        if (signedWith === 'previous')
          expect(await open(envelope, contents.learned, { current })).toMatchObject({ ok: false });
      }),
      { numRuns: 1000 },
    );
  });

  it(`makes envelopes of visible ASCII cookie-octets, URL-safe, of at most ${MAX_ENVELOPE_LENGTH} characters`, async () => {
    await fc.assert(
      fc.asyncProperty(contentsArb, signerArb, async (contents, signer) => {
        const envelope = await seal(contents, SIGNERS[signer]);
        expect(envelope.length).toBeLessThanOrEqual(MAX_ENVELOPE_LENGTH);
        // RFC 6265 §4.1.1 cookie-octet: visible ASCII but '"', ',', ';' and '\'.
        expect(envelope).toMatch(/^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]+$/);
        expect(encodeURIComponent(envelope)).toBe(envelope);
      }),
      { numRuns: 1000 },
    );
  });
});
