import { describe, expect, it } from 'vitest';
import { needsFreshCookie, interpretCookie } from '../../worker/core/session/affinity-session';

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
  /** The token was issued at NOW seconds (its expiry is NOW + TTL); `now` is in ms, as the proxy passes it. */
  const at = (secondsAfterIssue: number) => (NOW + secondsAfterIssue) * 1000;

  it('leaves a fresh, valid cookie for the same origin alone', () => {
    expect(needsFreshCookie(valid, 'app-1', at(0), TTL)).toBe(false);
    expect(needsFreshCookie(valid, 'app-1', at(TTL / 2 - 1), TTL)).toBe(false);
  });

  it('re-issues past half the lifetime (sliding expiry), to the millisecond', () => {
    expect(needsFreshCookie(valid, 'app-1', at(TTL / 2) + 1, TTL)).toBe(true);
    expect(needsFreshCookie(valid, 'app-1', at(TTL / 2 + 1), TTL)).toBe(true);
  });

  it('judges a token issued any time within its expiry’s second as issued at its start (conservatively)', () => {
    // ttl 4 s: issued at 0.999 s into a second, its expiry says the second began at 0; at 2.5 s after
    // the real issue (3.499 s by the token's second) it is past half its life whichever it was.
    const short = { ...valid, claims: { ...claims, expiresAt: NOW + 4 } };
    for (const issuedMs of [0, 1, 500, 999]) {
      const issued = NOW * 1000 + issuedMs;
      expect(needsFreshCookie(short, 'app-1', issued + 2_500, 4), `issued at +${issuedMs} ms`).toBe(true);
      expect(needsFreshCookie(short, 'app-1', issued + 2_000, 4), `issued at +${issuedMs} ms`).toBe(true);
    }
    // Never more than a second early: at 1 s after the expiry's second began, it is not due.
    expect(needsFreshCookie(short, 'app-1', NOW * 1000 + 999, 4)).toBe(false);
    expect(needsFreshCookie(short, 'app-1', NOW * 1000 + 1_999, 4)).toBe(false);
  });

  it('re-issues when the session moved, the key was retired, or the lifetime was shortened', () => {
    expect(needsFreshCookie(valid, 'app-2', at(0), TTL)).toBe(true);
    expect(needsFreshCookie({ ...valid, outcome: 'previous-key' }, 'app-1', at(0), TTL)).toBe(true);
    expect(needsFreshCookie(valid, 'app-1', at(0), TTL / 10)).toBe(true);
  });

  it('issues a cookie for every session that had no valid one', () => {
    for (const outcome of ['absent', 'tampered', 'expired', 'unknown-origin'] as const) {
      expect(needsFreshCookie({ outcome }, 'app-1', at(0), TTL)).toBe(true);
    }
  });
});
