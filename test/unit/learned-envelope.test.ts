import { beforeAll, describe, expect, it } from 'vitest';
import {
  importSigningKey,
  signAffinityToken,
  verifyAffinityToken,
  type SigningKey,
} from '../../worker/core/session/affinity-token';
import {
  MAX_ENVELOPE_LENGTH,
  MAX_LEARNED_VALUE_BYTES,
  importEnvelopeKey,
  openEnvelope,
  sealLearnedValue,
  type LearnedValue,
} from '../../worker/core/session/learned-envelope';

const MCP = 'header:mcp-session-id';
const issued: LearnedValue = { originId: 'app-2', learned: MCP, value: '3f1c2a9e-6b1d-4a57-9a55-0c1f8f7e4b21' };
let current: SigningKey;
let previous: SigningKey;

beforeAll(async () => {
  current = await importEnvelopeKey('current secret');
  previous = await importEnvelopeKey('previous secret');
});

async function sealed(contents: LearnedValue, signer = current): Promise<string> {
  const sealing = await sealLearnedValue(contents, signer);
  if (!sealing.ok) throw new Error(`not sealed: ${sealing.reason}`);
  return sealing.envelope;
}

describe('sealing and opening a learned value', () => {
  it('hands back the issuing origin and the origin’s exact value, for the learned name it was sealed for', async () => {
    const envelope = await sealed(issued);
    expect(await openEnvelope(envelope, MCP, { current })).toEqual({
      ok: true,
      originId: 'app-2',
      value: issued.value,
      signedWith: 'current',
    });
  });

  it('carries any value byte for byte: spaces, quotes, separators, Latin-1 and other scripts', async () => {
    for (const value of [
      'a b',
      '"quoted"',
      'x=1; y=2, z',
      '\\',
      'caf\u00e9',
      '\u00ff\u0080',
      '日本語',
      '🍪',
      '  padded ',
    ]) {
      const envelope = await sealed({ ...issued, value });
      const opened = await openEnvelope(envelope, MCP, { current });
      expect(opened, JSON.stringify(value)).toMatchObject({ ok: true, value });
    }
  });

  it('is made of base64url, dots and origin-id characters: visible ASCII, cookie-octets, URL-safe', async () => {
    const envelope = await sealed({ ...issued, originId: 'eu.app-7_b', value: 'v; "x", y\u00e9' });
    expect(envelope).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(encodeURIComponent(envelope)).toBe(envelope);
    expect(envelope.split('.').slice(0, 3)).toEqual(['1', current.id, 'eu']);
  });

  it('says nothing about the origin but its id: no address, nothing the origin did not hand out', async () => {
    const envelope = await sealed(issued);
    const [, , originId, value] = envelope.split('.');
    expect(originId).toBe('app-2');
    expect(Buffer.from(value!, 'base64url').toString()).toBe(issued.value);
  });

  it('cannot be replayed under another learned name', async () => {
    const envelope = await sealed(issued);
    for (const other of ['cookie:mcp-session-id', 'header:x-session', 'header:Mcp-Session-Id', 'cookie:JSESSIONID']) {
      expect(await openEnvelope(envelope, other, { current }), other).toEqual({ ok: false, reason: 'forged' });
    }
  });

  it('opens an envelope sealed with the previous key and says so; once that key is retired, it is forged', async () => {
    const envelope = await sealed(issued, previous);
    expect(await openEnvelope(envelope, MCP, { current, previous })).toMatchObject({
      ok: true,
      signedWith: 'previous',
    });
    expect(await openEnvelope(envelope, MCP, { current })).toEqual({ ok: false, reason: 'forged' });
  });

  it('tells the origin’s own values (plain) apart from altered envelopes (forged)', async () => {
    const envelope = await sealed(issued);
    const [version, keyId, originId, value, signature] = envelope.split('.') as [
      string,
      string,
      string,
      string,
      string,
    ];
    for (const plain of [
      '',
      issued.value,
      'JSESSIONID-7F3A',
      envelope.replace(/\./g, ''),
      `x${envelope}`,
      `${envelope}.`,
    ]) {
      expect(await openEnvelope(plain, MCP, { current }), plain).toEqual({ ok: false, reason: 'plain' });
    }
    const forged = [
      [version, keyId, 'app-3', value, signature],
      [version, keyId, originId, Buffer.from('another-session').toString('base64url'), signature],
      [version, previous.id, originId, value, signature],
      [version, keyId, originId, value, signature.slice(0, -1) + (signature.endsWith('A') ? 'B' : 'A')],
    ].map((parts) => parts.join('.'));
    for (const text of forged)
      expect(await openEnvelope(text, MCP, { current }), text).toEqual({ ok: false, reason: 'forged' });
  });

  it('refuses a signature that differs only in its last character’s two unused bits (canonical base64url)', async () => {
    const envelope = await sealed(issued);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(envelope.at(-1)!);
    for (const sibling of [last ^ 1, last ^ 2, last ^ 3]) {
      const alias = envelope.slice(0, -1) + alphabet[sibling]!;
      expect(await openEnvelope(alias, MCP, { current }), alias).toEqual({ ok: false, reason: 'forged' });
    }
  });
});

describe('length limits', () => {
  it(`seals values of up to ${MAX_LEARNED_VALUE_BYTES} bytes into envelopes of at most ${MAX_ENVELOPE_LENGTH} characters`, async () => {
    const longest = await sealed({ ...issued, originId: 'o'.repeat(64), value: 'v'.repeat(MAX_LEARNED_VALUE_BYTES) });
    expect(longest.length).toBe(MAX_ENVELOPE_LENGTH);
    expect(await openEnvelope(longest, MCP, { current })).toMatchObject({ ok: true });
    // A cookie of that size, with a name and typical attributes, stays within what browsers keep (RFC 6265 §6.1).
    expect(`JSESSIONID=${longest}; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=Lax`.length).toBeLessThan(4096);
  });

  it('leaves a longer value, or an empty one, unsealed, and says why', async () => {
    expect(await sealLearnedValue({ ...issued, value: 'v'.repeat(MAX_LEARNED_VALUE_BYTES + 1) }, current)).toEqual({
      ok: false,
      reason: 'too-long',
      bytes: MAX_LEARNED_VALUE_BYTES + 1,
    });
    // Counted in UTF-8 bytes, not characters.
    expect(await sealLearnedValue({ ...issued, value: '\u00e9'.repeat(1025) }, current)).toMatchObject({
      ok: false,
      reason: 'too-long',
      bytes: 2050,
    });
    expect(await sealLearnedValue({ ...issued, value: '' }, current)).toEqual({ ok: false, reason: 'empty', bytes: 0 });
  });

  it('calls anything longer than the longest envelope plain, before any cryptography', async () => {
    const envelope = await sealed(issued);
    const padded = envelope.replace('.app-2.', `.app-2.${'A'.repeat(MAX_ENVELOPE_LENGTH)}`);
    expect(await openEnvelope(padded, MCP, { current })).toEqual({ ok: false, reason: 'plain' });
  });
});

describe('domain separation from the affinity cookie', () => {
  it('derives a key of its own from the affinity secret, with a key id of its own', async () => {
    const cookieKey = await importSigningKey('current secret');
    expect((await importEnvelopeKey('current secret')).id).toBe(current.id);
    expect(current.id).not.toBe(cookieKey.id);
    expect(current.id).not.toBe(previous.id);
  });

  it('never opens an affinity cookie as an envelope, nor verifies an envelope as a cookie, from one secret', async () => {
    const cookieKey = await importSigningKey('current secret');
    // A cookie token whose fields happen to fit the envelope's form: its origin id reads as a value.
    const token = await signAffinityToken(
      { originId: 'AAAAAAAAAAAAAAAA', sessionId: 'BBBBBBBBBBBBBBBB', expiresAt: 1_900_000_000 },
      cookieKey,
    );
    expect(await openEnvelope(token, MCP, { current })).toEqual({ ok: false, reason: 'forged' });
    // An envelope whose origin id happens to read as an expiry and a session id.
    const envelope = await sealed({ ...issued, originId: 'zzzzzz.CCCCCCCCCCCCCCCC' });
    expect(await verifyAffinityToken(envelope, { current: cookieKey }, 1_800_000_000)).toEqual({ status: 'invalid' });
    // Even under the other's key id, the MACs are of different keys.
    const asEnvelope = token.replace(`1.${cookieKey.id}.`, `1.${current.id}.`);
    const asToken = envelope.replace(`1.${current.id}.`, `1.${cookieKey.id}.`);
    expect(await openEnvelope(asEnvelope, MCP, { current })).toEqual({ ok: false, reason: 'forged' });
    expect(await verifyAffinityToken(asToken, { current: cookieKey }, 1_800_000_000)).toEqual({ status: 'invalid' });
  });
});
