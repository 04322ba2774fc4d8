/**
 * What an affinity cookie means for its session, and when the session needs a fresh cookie.
 */
import type { AffinityClaims, TokenVerdict } from './affinity-token';
import type { AffinityConfig } from '../config/config-schema';

/** The cookie's outcome as the decision log reports it. */
export type CookieOutcome = 'valid' | 'absent' | 'tampered' | 'expired' | 'unknown-origin' | 'previous-key';

export interface CookieReading {
  outcome: CookieOutcome;
  /** Authentic claims (valid, previous-key, expired or unknown-origin); absent for anything forged. */
  claims?: AffinityClaims;
  /** Index of the pinned origin, for a valid pin to a configured origin. */
  pinned?: number;
  /** An authentic pin that no longer holds: its origin was removed, or it expired. */
  lapsedPin?: 'removed' | 'expired';
}

/**
 * Interprets a verdict against the configured origins. An authentic cookie keeps its session id even
 * when its pin lapsed, so the session moves along its own preference list like any other.
 */
export function interpretCookie(
  verdict: TokenVerdict | undefined,
  indexOf: ReadonlyMap<string, number>,
): CookieReading {
  if (!verdict) return { outcome: 'absent' };
  if (verdict.status === 'invalid') return { outcome: 'tampered' };
  const { claims } = verdict;
  if (verdict.status === 'expired') return { outcome: 'expired', claims, lapsedPin: 'expired' };
  const pinned = indexOf.get(claims.originId);
  if (pinned === undefined) return { outcome: 'unknown-origin', claims, lapsedPin: 'removed' };
  return { outcome: verdict.signedWith === 'previous' ? 'previous-key' : 'valid', claims, pinned };
}

/**
 * Sliding expiry without a `Set-Cookie` on every response: a cookie is re-issued when the session is
 * new or moved, when it was signed with the retired key, when it is past half its lifetime, or when
 * it outlives the configured lifetime (the operator shortened `ttl`).
 *
 * The token states its expiry in whole seconds: `floor(issued) + ttl`, so the moment it was issued is
 * known to within a second, no better. "Past half its lifetime" is judged conservatively, against the
 * earliest moment it can have been issued, with `now` to the millisecond: every request past half the
 * lifetime gets a fresh cookie, and one up to a second before may get one too.
 */
export function needsFreshCookie(reading: CookieReading, servedOriginId: string, now: number, ttl: number): boolean {
  if (reading.outcome !== 'valid' || !reading.claims) return true;
  if (reading.claims.originId !== servedOriginId) return true;
  const remainingMs = reading.claims.expiresAt * 1000 - now;
  return remainingMs <= (ttl * 1000) / 2 || remainingMs > ttl * 1000;
}

/**
 * Whether a session has outlived `affinity.maxAge` (its absolute lifetime, the Gateway API's
 * `absoluteTimeout`), counted from its first pin. A token written before `maxAge` was set carries no
 * start: it counts from when that token was issued (`expiresAt - ttl`), the earliest moment known.
 */
export function outlivedMaxAge(
  claims: AffinityClaims,
  { maxAge, ttl }: Pick<AffinityConfig, 'maxAge' | 'ttl'>,
  nowSeconds: number,
): boolean {
  if (maxAge === undefined) return false;
  const startedAt = claims.startedAt ?? claims.expiresAt - ttl;
  return nowSeconds - startedAt >= maxAge;
}
