import { beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_TOKEN_LENGTH,
  importSigningKey,
  signAffinityToken,
  verifyAffinityToken,
  type SigningKey,
} from '../../worker/core/session/affinity-token';

const NOW = 1_800_000_000;
const claims = { originId: 'app-1', sessionId: 'AbCdEfGhIjKlMnOp', expiresAt: NOW + 82_800 };
let current: SigningKey;
let previous: SigningKey;

beforeAll(async () => {
  current = await importSigningKey('current secret');
  previous = await importSigningKey('previous secret');
});

describe('affinity token', () => {
  it('round-trips its claims under the current key', async () => {
    const token = await signAffinityToken(claims, current);
    expect(await verifyAffinityToken(token, { current }, NOW)).toEqual({
      status: 'valid',
      claims,
      signedWith: 'current',
    });
  });

  it('is compact and URL-safe, even with the longest origin id', async () => {
    const token = await signAffinityToken({ ...claims, originId: 'o'.repeat(64) }, current);
    expect(token.length).toBeLessThan(MAX_TOKEN_LENGTH);
    expect(token).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(encodeURIComponent(token)).toBe(token);
  });

  it('carries the origin id, never anything else about the origin', async () => {
    const token = await signAffinityToken({ ...claims, originId: 'eu.app-7' }, current);
    expect(token.split('.')).toEqual([
      '1',
      current.id,
      claims.expiresAt.toString(36),
      claims.sessionId,
      'eu',
      'app-7',
      expect.any(String),
    ]);
  });

  it('accepts a token signed with the previous key and says so', async () => {
    const token = await signAffinityToken(claims, previous);
    expect(await verifyAffinityToken(token, { current, previous }, NOW)).toEqual({
      status: 'valid',
      claims,
      signedWith: 'previous',
    });
  });

  it('refuses a token signed with a key that is no longer configured', async () => {
    const token = await signAffinityToken(claims, previous);
    expect(await verifyAffinityToken(token, { current }, NOW)).toEqual({ status: 'invalid' });
  });

  it('reports an authentic but expired token as expired', async () => {
    const token = await signAffinityToken({ ...claims, expiresAt: NOW }, current);
    expect(await verifyAffinityToken(token, { current }, NOW)).toEqual({
      status: 'expired',
      claims: { ...claims, expiresAt: NOW },
    });
  });

  it('refuses any change to the payload: origin, session, expiry or key id', async () => {
    const token = await signAffinityToken(claims, current);
    const parts = token.split('.');
    const tampered = [
      token.replace('app-1', 'app-2'),
      token.replace(claims.sessionId, 'AbCdEfGhIjKlMnOq'),
      [parts[0], parts[1], (claims.expiresAt + 999_999).toString(36), ...parts.slice(3)].join('.'),
      [parts[0], previous.id, ...parts.slice(2)].join('.'),
      token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'),
    ];
    for (const forged of tampered) {
      expect(await verifyAffinityToken(forged, { current, previous }, NOW), forged).toEqual({ status: 'invalid' });
    }
  });

  it('refuses garbage and oversized values without throwing', async () => {
    const token = await signAffinityToken(claims, current);
    for (const garbage of [
      '',
      'x',
      '1.....',
      '%%%',
      token + '.',
      token + token,
      'a'.repeat(4096),
      `${token}${'A'.repeat(MAX_TOKEN_LENGTH)}`,
    ]) {
      expect(await verifyAffinityToken(garbage, { current }, NOW)).toEqual({ status: 'invalid' });
    }
  });

  it('derives a stable key id that differs between secrets', async () => {
    expect((await importSigningKey('current secret')).id).toBe(current.id);
    expect(current.id).not.toBe(previous.id);
    expect(current.id).toMatch(/^[A-Za-z0-9_-]{6}$/);
  });
});

describe('affinity token, version 2 (session start and state tag)', () => {
  const extended = { ...claims, originId: 'app.eu-1', startedAt: NOW - 3600, stateTag: 'q1w2e3r4t5y6u7i8o9p0aZ' };

  it('round-trips the session start and the state tag, an origin id with dots included', async () => {
    const token = await signAffinityToken(extended, current);
    expect(token.startsWith('2.')).toBe(true);
    expect(token.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
    expect(await verifyAffinityToken(token, { current }, NOW)).toEqual({
      status: 'valid',
      claims: extended,
      signedWith: 'current',
    });
    const startOnly = { ...claims, startedAt: NOW };
    const verdict = await verifyAffinityToken(await signAffinityToken(startOnly, current), { current }, NOW);
    expect(verdict).toEqual({ status: 'valid', claims: startOnly, signedWith: 'current' });
  });

  it('round-trips the mark of a session an origin handed over', async () => {
    const handed = { ...claims, handedOver: true as const };
    const token = await signAffinityToken(handed, current);
    expect(token.split('.').at(-2)).toBe('h');
    expect(await verifyAffinityToken(token, { current }, NOW)).toEqual({
      status: 'valid',
      claims: handed,
      signedWith: 'current',
    });
    const unmarked = token.replace('.h.', '..');
    expect(await verifyAffinityToken(unmarked, { current }, NOW)).toEqual({ status: 'invalid' });
  });

  it('is written as version 1, as before, when neither is used', async () => {
    expect((await signAffinityToken(claims, current)).startsWith('1.')).toBe(true);
  });

  it('refuses any change to the session start or the state tag, and a version 1 token given extra fields', async () => {
    const token = await signAffinityToken(extended, current);
    const parts = token.split('.');
    const forged = [
      [...parts.slice(0, 6), NOW.toString(36), ...parts.slice(7)].join('.'),
      [...parts.slice(0, 7), 'Q1w2e3r4t5y6u7i8o9p0aZ', ...parts.slice(8)].join('.'),
      [...parts.slice(0, 7), '', ...parts.slice(8)].join('.'),
      ['1', ...parts.slice(1)].join('.'),
    ];
    for (const text of forged)
      expect(await verifyAffinityToken(text, { current }, NOW), text).toEqual({ status: 'invalid' });
  });
});
