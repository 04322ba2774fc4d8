/**
 * Property-based and fuzz tests of the affinity cookie's token.
 *
 * The oracle: a token verifies ('valid' or 'expired') only if it is, character for character, what
 * `signAffinityToken` produced with a configured key. Everything else a client can send — garbage,
 * near misses built from the token's own alphabet, and mutations of genuinely signed tokens — is
 * 'invalid', and verification never throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_TOKEN_LENGTH,
  importSigningKey,
  signAffinityToken,
  verifyAffinityToken,
  type AffinityClaims,
  type SigningKey,
  type SigningKeys,
  type TokenVerdict,
} from '../../worker/core/session/affinity-token';

const current = await importSigningKey('current secret');
const previous = await importSigningKey('previous secret');
/** A key the worker is not configured with: a retired secret, or an attacker's guess. */
const unconfigured = await importSigningKey('some other secret');
const KEYS: SigningKeys = { current, previous };
const SIGNERS = { current, previous } as const;

const NOW = 1_800_000_000;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';
const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-';
/** The longest expiry the token format carries: ten base36 digits. */
const MAX_EXPIRY = 36 ** 10 - 1;

const chars = (alphabet: string) => fc.constantFrom(...alphabet);
const originIdArb = fc.oneof(
  fc.string({ unit: chars(ID_CHARS), minLength: 1, maxLength: 64 }),
  fc.string({ unit: chars(ID_CHARS), minLength: 64, maxLength: 64 }),
  fc.constantFrom('app-1', 'eu.app-7', '.', '-', '_'),
);
const sessionIdArb = fc.string({ unit: chars(B64URL), minLength: 16, maxLength: 16 });
const expiryArb = fc.oneof(
  fc.integer({ min: NOW - 100_000, max: NOW + 34_560_000 }),
  fc.integer({ min: 0, max: MAX_EXPIRY }),
  fc.constantFrom(0, 1, 35, 36, MAX_EXPIRY),
);
const claimsArb: fc.Arbitrary<AffinityClaims> = fc.record({
  originId: originIdArb,
  sessionId: sessionIdArb,
  expiresAt: expiryArb,
});
const signerArb = fc.constantFrom('current', 'previous') as fc.Arbitrary<keyof typeof SIGNERS>;
const nowArb = fc.oneof(
  fc.constant(NOW),
  fc.integer({ min: 0, max: MAX_EXPIRY }),
  fc.constantFrom(-1, Number.MAX_SAFE_INTEGER),
);

/** verifyAffinityToken; a throw or a rejection fails the property with the token that caused it. */
async function verify(token: string, nowSeconds: number, keys: SigningKeys = KEYS): Promise<TokenVerdict> {
  const verdict = await verifyAffinityToken(token, keys, nowSeconds);
  expect(['valid', 'expired', 'invalid']).toContain(verdict.status);
  return verdict;
}

// ---------------------------------------------------------------------------------------------------
// Mutations of a genuinely signed token
// ---------------------------------------------------------------------------------------------------

const anyCharArb = fc.oneof(
  chars(B64URL + '.'),
  fc.constantFrom(' ', '=', '+', '/', '%', ';', ',', '"', '\n', '\t', '\0', 'é', '\u{1F36A}'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
const someTextArb = fc.oneof(
  fc.string({ unit: chars(B64URL + '.'), minLength: 1, maxLength: 8 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }),
  fc.constantFrom('.', '=', '==', ' ', '\n', ';', '.A', 'A'.repeat(60)),
);

/** A change to a token; positions are taken modulo the region they apply to. */
type Mutation =
  | { kind: 'replace'; at: number; char: string }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'swap-chars'; a: number; b: number }
  | { kind: 'toggle-case'; at: number }
  | { kind: 'case'; to: 'upper' | 'lower' }
  | { kind: 'swap-fields'; a: number; b: number }
  | { kind: 'drop-field'; at: number }
  | { kind: 'duplicate-field'; at: number }
  | { kind: 'set-field'; at: number; value: string }
  | { kind: 'expiry'; expiresAt: number; padding: string }
  | { kind: 'origin'; originId: string }
  | { kind: 'session'; sessionId: string }
  | { kind: 'key-id'; keyId: 'current' | 'previous' | 'unconfigured' | 'random'; random: string }
  | { kind: 'truncate'; length: number }
  | { kind: 'append'; text: string }
  | { kind: 'prepend'; text: string }
  | { kind: 'separator'; at: number; char: string }
  | { kind: 're-sign'; claims: Partial<AffinityClaims>; underKeyId: 'own' | 'current' | 'previous' }
  | { kind: 'splice'; claims: Partial<AffinityClaims> };

const partialClaimsArb = fc.record(
  { originId: originIdArb, sessionId: sessionIdArb, expiresAt: expiryArb },
  { requiredKeys: [] },
);

/**
 * Mutations anywhere in the token's structure and of any character of its payload (everything before
 * the signature). Point mutations of the signature's own characters are generated separately.
 */
const payloadMutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace'), at: fc.nat(), char: anyCharArb }),
  fc.record({ kind: fc.constant('flip'), at: fc.nat(), bit: fc.integer({ min: 0, max: 15 }) }),
  fc.record({ kind: fc.constant('insert'), at: fc.nat(), text: someTextArb }),
  fc.record({ kind: fc.constant('delete'), at: fc.nat(), count: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('swap-chars'), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('toggle-case'), at: fc.nat() }),
  fc.record({ kind: fc.constant('case'), to: fc.constantFrom('upper', 'lower') }),
  fc.record({ kind: fc.constant('swap-fields'), a: fc.nat(5), b: fc.nat(5) }),
  fc.record({ kind: fc.constant('drop-field'), at: fc.nat(5) }),
  fc.record({ kind: fc.constant('duplicate-field'), at: fc.nat(5) }),
  fc.record({
    kind: fc.constant('set-field'),
    at: fc.nat(4),
    value: fc.oneof(fc.string({ unit: chars(B64URL), maxLength: 70 }), fc.constantFrom('', '0', '1', '2', '01')),
  }),
  fc.record({
    kind: fc.constant('expiry'),
    expiresAt: fc.oneof(expiryArb, fc.constantFrom(MAX_EXPIRY + 1, 2 ** 53, -1)),
    padding: fc.constantFrom('', '0', '00'),
  }),
  fc.record({ kind: fc.constant('origin'), originId: originIdArb }),
  fc.record({ kind: fc.constant('session'), sessionId: sessionIdArb }),
  fc.record({
    kind: fc.constant('key-id'),
    keyId: fc.constantFrom('current', 'previous', 'unconfigured', 'random'),
    random: fc.string({ unit: chars(B64URL), minLength: 6, maxLength: 6 }),
  }),
  fc.record({ kind: fc.constant('truncate'), length: fc.nat() }),
  fc.record({ kind: fc.constant('append'), text: someTextArb }),
  fc.record({ kind: fc.constant('prepend'), text: someTextArb }),
  fc.record({ kind: fc.constant('separator'), at: fc.nat(4), char: anyCharArb }),
  fc.record({
    kind: fc.constant('re-sign'),
    claims: partialClaimsArb,
    underKeyId: fc.constantFrom('own', 'current', 'previous'),
  }),
  fc.record({ kind: fc.constant('splice'), claims: partialClaimsArb }),
) as fc.Arbitrary<Mutation>;

/** Point mutations of the signature's characters, its last one (which carries two padding bits) often. */
const signatureMutationArb: fc.Arbitrary<Mutation> = fc
  .tuple(
    fc.oneof(fc.nat(), fc.constant(-1)),
    fc.oneof(
      fc.record({ kind: fc.constant('replace'), char: anyCharArb }),
      fc.record({ kind: fc.constant('flip'), bit: fc.integer({ min: 0, max: 15 }) }),
      fc.record({ kind: fc.constant('toggle-case') }),
    ),
  )
  .map(([at, change]) => ({ ...change, at }) as Mutation);

const splitAt = (text: string, i: number) => [text.slice(0, i), text.slice(i)] as const;

/** Applies `mutation` to `token` (signed with `signer` over `claims`); point mutations within [start, end). */
async function mutate(
  token: string,
  claims: AffinityClaims,
  signer: SigningKey,
  mutation: Mutation,
  region: { start: number; end: number },
): Promise<string> {
  const span = Math.max(1, region.end - region.start);
  const pos = (at: number) => region.start + (((at % span) + span) % span);
  const fields = token.split('.');
  const payloadFields = fields.slice(0, -1);
  const signature = fields.at(-1)!;
  switch (mutation.kind) {
    case 'replace': {
      const i = pos(mutation.at);
      return token.slice(0, i) + mutation.char + token.slice(i + 1);
    }
    case 'flip': {
      const i = pos(mutation.at);
      return token.slice(0, i) + String.fromCharCode(token.charCodeAt(i) ^ (1 << mutation.bit)) + token.slice(i + 1);
    }
    case 'insert': {
      const [before, after] = splitAt(token, pos(mutation.at));
      return before + mutation.text + after;
    }
    case 'delete': {
      const i = pos(mutation.at);
      return token.slice(0, i) + token.slice(i + mutation.count);
    }
    case 'swap-chars': {
      const [i, j] = [pos(mutation.a), pos(mutation.b)].sort((x, y) => x - y) as [number, number];
      return token.slice(0, i) + token[j] + token.slice(i + 1, j) + token[i] + token.slice(j + 1);
    }
    case 'toggle-case': {
      const i = pos(mutation.at);
      const c = token[i]!;
      const toggled = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
      return token.slice(0, i) + toggled + token.slice(i + 1);
    }
    case 'case':
      return mutation.to === 'upper' ? token.toUpperCase() : token.toLowerCase();
    case 'swap-fields': {
      const copy = [...fields];
      [copy[mutation.a], copy[mutation.b]] = [fields[mutation.b]!, fields[mutation.a]!];
      return copy.join('.');
    }
    case 'drop-field':
      return fields.filter((_, i) => i !== mutation.at).join('.');
    case 'duplicate-field':
      return [...fields.slice(0, mutation.at + 1), ...fields.slice(mutation.at)].join('.');
    case 'set-field': {
      const copy = [...fields];
      copy[mutation.at] = mutation.value;
      return copy.join('.');
    }
    case 'expiry':
      return [...fields.slice(0, 2), mutation.padding + mutation.expiresAt.toString(36), ...fields.slice(3)].join('.');
    case 'origin':
      return [...payloadFields.slice(0, 4), mutation.originId, signature].join('.');
    case 'session':
      return [...fields.slice(0, 3), mutation.sessionId, ...fields.slice(4)].join('.');
    case 'key-id': {
      const ids = {
        current: current.id,
        previous: previous.id,
        unconfigured: unconfigured.id,
        random: mutation.random,
      };
      return [fields[0], ids[mutation.keyId], ...fields.slice(2)].join('.');
    }
    case 'truncate':
      return token.slice(0, mutation.length % token.length);
    case 'append':
      return token + mutation.text;
    case 'prepend':
      return mutation.text + token;
    case 'separator': {
      // The separators are the dots after fields 0..4 (the origin id may hold dots of its own).
      const dots = [1, 2 + signer.id.length];
      dots.push(dots[1]! + 1 + claims.expiresAt.toString(36).length);
      dots.push(dots[2]! + 1 + claims.sessionId.length);
      dots.push(token.length - signature.length - 1);
      const i = dots[mutation.at]!;
      return token.slice(0, i) + mutation.char + token.slice(i + 1);
    }
    case 're-sign': {
      const keyId = { own: unconfigured.id, current: current.id, previous: previous.id }[mutation.underKeyId];
      return signAffinityToken({ ...claims, ...mutation.claims }, { id: keyId, key: unconfigured.key });
    }
    case 'splice': {
      // The payload of this token with the signature of another one, genuinely signed with the same key.
      const other = await signAffinityToken({ ...claims, ...mutation.claims }, signer);
      return `${token.slice(0, token.length - signature.length)}${other.split('.').at(-1)!}`;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Near misses built from the token's own alphabet
// ---------------------------------------------------------------------------------------------------

/** Mostly the right shape for a field, sometimes one character off. */
const field = (alphabet: string, min: number, max: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: chars(alphabet), minLength: min, maxLength: max }) },
    { weight: 1, arbitrary: fc.string({ unit: chars(alphabet), minLength: Math.max(0, min - 1), maxLength: max + 1 }) },
  );
const tokenShapedArb = fc
  .tuple(
    fc.oneof({ weight: 6, arbitrary: fc.constant('1') }, { weight: 1, arbitrary: fc.constantFrom('0', '2', '11', '') }),
    fc.oneof({ weight: 2, arbitrary: fc.constantFrom(current.id, previous.id, unconfigured.id) }, field(B64URL, 6, 6)),
    field(BASE36, 1, 10),
    field(B64URL, 16, 32),
    field(ID_CHARS, 1, 64),
    field(B64URL, 43, 43),
  )
  .map((parts) => parts.join('.'));
const alphabetStringArb = fc.oneof(
  { weight: 3, arbitrary: tokenShapedArb },
  { weight: 1, arbitrary: fc.string({ unit: chars(B64URL + '.'), maxLength: 220 }) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.string({ unit: chars(B64URL), maxLength: 45 }), { maxLength: 9 })
      .map((parts) => parts.join('.')),
  },
);

// ---------------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------------

describe('verifyAffinityToken, on anything a client can send', () => {
  it('never throws and calls any string invalid (unicode, control characters, very long strings)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.string({ unit: 'grapheme', maxLength: 300 }),
          fc.string({ unit: 'binary', minLength: 190, maxLength: 4096 }),
        ),
        nowArb,
        async (token, now) => {
          expect(await verify(token, now)).toEqual({ status: 'invalid' });
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('never throws and calls invalid what is built from the token alphabet and separators, configured key ids included', async () => {
    await fc.assert(
      fc.asyncProperty(alphabetStringArb, nowArb, async (token, now) => {
        expect(await verify(token, now)).toEqual({ status: 'invalid' });
      }),
      { numRuns: 3000 },
    );
  });

  it('calls every change to a signed token’s payload or structure invalid, and never throws', async () => {
    await fc.assert(
      fc.asyncProperty(claimsArb, signerArb, payloadMutationArb, nowArb, async (claims, signerName, mutation, now) => {
        const signer = SIGNERS[signerName];
        const token = await signAffinityToken(claims, signer);
        const signatureStart = token.lastIndexOf('.') + 1;
        const mutant = await mutate(token, claims, signer, mutation, { start: 0, end: signatureStart });
        fc.pre(mutant !== token); // reproducing the original exactly is no forgery
        expect(await verify(mutant, now), mutant).toEqual({ status: 'invalid' });
      }),
      { numRuns: 3000 },
    );
  });

  it('calls every change to a signed token’s signature invalid, and never throws', async () => {
    await fc.assert(
      fc.asyncProperty(claimsArb, signerArb, signatureMutationArb, async (claims, signerName, mutation) => {
        const signer = SIGNERS[signerName];
        const token = await signAffinityToken(claims, signer);
        const signatureStart = token.lastIndexOf('.') + 1;
        // `at` is an offset into the signature; -1 stands for its last character.
        const lastChar = token.length - 1 - signatureStart;
        const pointed = 'at' in mutation && mutation.at === -1 ? { ...mutation, at: lastChar } : mutation;
        const mutant = await mutate(token, claims, signer, pointed, { start: signatureStart, end: token.length });
        fc.pre(mutant !== token);
        expect(await verify(mutant, NOW), `${token} → ${mutant}`).toEqual({ status: 'invalid' });
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a token whose last signature character differs only in its two unused padding bits', async () => {
    const claims = { originId: 'app-1', sessionId: 'AbCdEfGhIjKlMnOp', expiresAt: NOW + 82_800 };
    const token = await signAffinityToken(claims, current);
    const last = B64URL.indexOf(token.at(-1)!);
    for (const sibling of [last ^ 1, last ^ 2, last ^ 3]) {
      const forged = token.slice(0, -1) + B64URL[sibling]!;
      expect(forged).not.toBe(token);
      expect(await verify(forged, NOW), `${token} → ${forged}`).toEqual({ status: 'invalid' });
    }
  });
});

describe('signAffinityToken and verifyAffinityToken, round trip', () => {
  it('verifies any claims signed with the current or previous key, with those exact claims, until they expire', async () => {
    await fc.assert(
      fc.asyncProperty(
        claimsArb,
        signerArb,
        fc.oneof(fc.integer({ min: -3, max: 3 }), fc.integer({ min: -MAX_EXPIRY, max: MAX_EXPIRY })),
        async (claims, signedWith, offset) => {
          const token = await signAffinityToken(claims, SIGNERS[signedWith]);
          const now = claims.expiresAt + offset;
          const expected: TokenVerdict =
            now < claims.expiresAt ? { status: 'valid', claims, signedWith } : { status: 'expired', claims };
          expect(await verify(token, now)).toEqual(expected);
          // Once the previous key is retired, what it signed no longer verifies.
          if (signedWith === 'previous') expect(await verify(token, now, { current })).toEqual({ status: 'invalid' });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('makes tokens of at most 200 URL-safe characters (142 while the expiry has at most 7 base36 digits)', async () => {
    await fc.assert(
      fc.asyncProperty(claimsArb, signerArb, async (claims, signer) => {
        const token = await signAffinityToken(claims, SIGNERS[signer]);
        expect(token.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
        expect(new TextEncoder().encode(token).length).toBeLessThanOrEqual(200);
        expect(token).toMatch(/^[A-Za-z0-9._-]+$/);
        expect(encodeURIComponent(token)).toBe(token);
        if (claims.expiresAt < 36 ** 7) expect(token.length).toBeLessThanOrEqual(142);
      }),
      { numRuns: 1000 },
    );
  });
});
