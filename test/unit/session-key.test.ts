import { describe, expect, it } from 'vitest';
import { parseSessionKeySource, requestSessionKey, type SessionKeyInputs } from '../../worker/core/routing/session-key';

const inputs = (values: {
  ip?: string;
  headers?: Record<string, string>;
  cookies?: Record<string, string>;
}): SessionKeyInputs => ({
  clientIp: () => values.ip,
  header: (name) => values.headers?.[name],
  cookie: (name) => values.cookies?.[name],
});

describe('session keys', () => {
  it('parses every affinity.key form, header names case-insensitively', () => {
    expect(parseSessionKeySource('random')).toEqual({ kind: 'random' });
    expect(parseSessionKeySource('ip')).toEqual({ kind: 'ip' });
    expect(parseSessionKeySource('header:X-User-Id')).toEqual({ kind: 'header', name: 'x-user-id' });
    expect(parseSessionKeySource('cookie:sid')).toEqual({ kind: 'cookie', name: 'sid' });
  });

  it('keys by the request’s value, prefixed by its kind', () => {
    const request = inputs({ ip: '203.0.113.5', headers: { 'x-user-id': '42' }, cookies: { sid: 'abc' } });
    expect(requestSessionKey({ kind: 'ip' }, request)).toBe('ip:203.0.113.5');
    expect(requestSessionKey({ kind: 'header', name: 'x-user-id' }, request)).toBe('header:42');
    expect(requestSessionKey({ kind: 'cookie', name: 'sid' }, request)).toBe('cookie:abc');
  });

  it('falls back (undefined) when the request has no value, or with random keys', () => {
    expect(requestSessionKey({ kind: 'random' }, inputs({ ip: '203.0.113.5' }))).toBeUndefined();
    expect(
      requestSessionKey({ kind: 'header', name: 'x-user-id' }, inputs({ headers: { 'x-user-id': '  ' } })),
    ).toBeUndefined();
    expect(requestSessionKey({ kind: 'cookie', name: 'sid' }, inputs({}))).toBeUndefined();
  });
});
