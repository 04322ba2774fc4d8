import { describe, expect, it } from 'vitest';
import type { CookieReading } from '../../worker/core/session/affinity-session';
import { NO_ENVELOPE, type EnvelopeReading } from '../../worker/core/session/envelope-reading';
import { parseLearnedNames } from '../../worker/core/session/learned-names';
import { choosePin, issuesAffinityCookie, sessionKeyOf } from '../../worker/core/session/session-pin';

const NOW = 1_000_000;
const TTL = 1000;
const [MCP] = parseLearnedNames(['header:mcp-session-id']);
const unsealed = [{ learned: MCP!, envelope: 'ENV', originId: 'app-2', value: 'sid', signedWith: 'current' as const }];
const envelopeFor = (pinned: number): EnvelopeReading => ({
  outcome: 'valid',
  learned: 'header:mcp-session-id',
  pinned,
  sessionKey: 'learned:header:mcp-session-id:sid',
  unsealed,
});
const removedEnvelope: EnvelopeReading = {
  outcome: 'unknown-origin',
  learned: 'header:mcp-session-id',
  lapsedPin: 'removed',
  sessionKey: 'learned:header:mcp-session-id:sid',
  unsealed,
};
const claims = { originId: 'app-1', sessionId: 'S'.repeat(16), expiresAt: NOW + TTL };
const cookieFor = (pinned: number): CookieReading => ({ outcome: 'valid', claims, pinned });
const absent: CookieReading = { outcome: 'absent' };
const expired: CookieReading = { outcome: 'expired', claims, lapsedPin: 'expired' };

describe('choosePin', () => {
  it('lets a valid envelope win over a valid cookie that names another origin', () => {
    expect(choosePin(cookieFor(0), envelopeFor(1))).toEqual({ pinned: 1 });
  });

  it('keeps the cookie’s pin when the envelope names no configured origin, or there is none', () => {
    expect(choosePin(cookieFor(0), removedEnvelope)).toEqual({ pinned: 0 });
    expect(choosePin(cookieFor(0), NO_ENVELOPE)).toEqual({ pinned: 0 });
  });

  it('reports the envelope’s lapse before the cookie’s, and nothing for a new session', () => {
    expect(choosePin(expired, removedEnvelope)).toEqual({ lapsedPin: 'removed' });
    expect(choosePin(expired, NO_ENVELOPE)).toEqual({ lapsedPin: 'expired' });
    expect(choosePin(absent, NO_ENVELOPE)).toEqual({ lapsedPin: undefined });
  });
});

describe('sessionKeyOf', () => {
  it('ranks by the application session’s own value first, then affinity.key, then the session id', () => {
    expect(sessionKeyOf(envelopeFor(1), 'header:42', 'random-id')).toBe('learned:header:mcp-session-id:sid');
    expect(sessionKeyOf(removedEnvelope, undefined, 'random-id')).toBe('learned:header:mcp-session-id:sid');
    expect(sessionKeyOf(NO_ENVELOPE, 'header:42', 'random-id')).toBe('header:42');
    expect(sessionKeyOf(NO_ENVELOPE, undefined, 'random-id')).toBe('random-id');
  });
});

describe('issuesAffinityCookie', () => {
  const served = (originId: string) => ({ originId, now: NOW * 1000, ttl: TTL });

  it('issues none to a client routed by an authentic envelope that sent no affinity cookie (MCP, API clients)', () => {
    expect(issuesAffinityCookie(absent, envelopeFor(1), served('app-2'))).toBe(false);
    expect(issuesAffinityCookie(absent, removedEnvelope, served('app-1'))).toBe(false);
  });

  it('re-issues a browser’s cookie to agree with the envelope that routed it elsewhere', () => {
    expect(issuesAffinityCookie(cookieFor(0), envelopeFor(1), served('app-2'))).toBe(true);
    expect(issuesAffinityCookie(cookieFor(0), envelopeFor(0), served('app-1'))).toBe(false);
  });

  it('follows the cookie’s own rules when no authentic envelope came along', () => {
    expect(issuesAffinityCookie(absent, NO_ENVELOPE, served('app-1'))).toBe(true);
    expect(issuesAffinityCookie(absent, { outcome: 'tampered', unsealed: [] }, served('app-1'))).toBe(true);
    expect(issuesAffinityCookie(cookieFor(0), NO_ENVELOPE, served('app-1'))).toBe(false);
    expect(issuesAffinityCookie(expired, envelopeFor(1), served('app-2'))).toBe(true);
  });
});
