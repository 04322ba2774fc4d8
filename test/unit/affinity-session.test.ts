import { describe, expect, it } from 'vitest';
import { needsFreshCookie, interpretCookie } from '../../worker/core/affinity-session';

const indexOf = new Map([
  ['app-1', 0],
  ['app-2', 1],
]);
const NOW = 1_000_000;
const TTL = 1000;
const claims = { originId: 'app-1', sessionId: 'S'.repeat(16), expiresAt: NOW + TTL };

describe('interpretCookie', () => {
  it('tells absent, tampered, expired, removed, valid and previous-key cookies apart', () => {
    expect(interpretCookie(undefined, indexOf)).toEqual({ outcome: 'absent' });
    expect(interpretCookie({ status: 'invalid' }, indexOf)).toEqual({ outcome: 'tampered' });
    expect(interpretCookie({ status: 'expired', claims }, indexOf)).toEqual({
      outcome: 'expired',
      claims,
      lapsedPin: 'expired',
    });
    const removed = { ...claims, originId: 'app-9' };
    expect(interpretCookie({ status: 'valid', claims: removed, signedWith: 'current' }, indexOf)).toEqual({
      outcome: 'unknown-origin',
      claims: removed,
      lapsedPin: 'removed',
    });
    expect(interpretCookie({ status: 'valid', claims, signedWith: 'current' }, indexOf)).toEqual({
      outcome: 'valid',
      claims,
      pinned: 0,
    });
    expect(interpretCookie({ status: 'valid', claims, signedWith: 'previous' }, indexOf)).toEqual({
      outcome: 'previous-key',
      claims,
      pinned: 0,
    });
  });
});

describe('needsFreshCookie', () => {
  const valid = { outcome: 'valid' as const, claims, pinned: 0 };

  it('leaves a fresh, valid cookie for the same origin alone', () => {
    expect(needsFreshCookie(valid, 'app-1', NOW, TTL)).toBe(false);
    expect(needsFreshCookie(valid, 'app-1', NOW + TTL / 2 - 1, TTL)).toBe(false);
  });

  it('re-issues past half the lifetime (sliding expiry)', () => {
    expect(needsFreshCookie(valid, 'app-1', NOW + TTL / 2 + 1, TTL)).toBe(true);
  });

  it('re-issues when the session moved, the key was retired, or the lifetime was shortened', () => {
    expect(needsFreshCookie(valid, 'app-2', NOW, TTL)).toBe(true);
    expect(needsFreshCookie({ ...valid, outcome: 'previous-key' }, 'app-1', NOW, TTL)).toBe(true);
    expect(needsFreshCookie(valid, 'app-1', NOW, TTL / 10)).toBe(true);
  });

  it('issues a cookie for every session that had no valid one', () => {
    for (const outcome of ['absent', 'tampered', 'expired', 'unknown-origin'] as const) {
      expect(needsFreshCookie({ outcome }, 'app-1', NOW, TTL)).toBe(true);
    }
  });
});
