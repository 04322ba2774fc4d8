import { describe, expect, it } from 'vitest';
import { clientResponseHeaders, originRequestHeaders, withoutCookies } from '../../worker/http/forward-headers';

const facts = { affinityCookie: '__affinity', clientIp: '198.51.100.7' };

describe('originRequestHeaders', () => {
  it('drops hop-by-hop headers, and those the Connection header names (RFC 9110 §7.6.1)', () => {
    const request = new Request('https://shop.example/', {
      headers: {
        connection: 'keep-alive, x-hop',
        'x-hop': '1',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        'proxy-authorization': 'Basic x',
        'x-end-to-end': 'kept',
      },
    });
    const headers = originRequestHeaders(request, new URL(request.url), facts);
    for (const name of ['connection', 'x-hop', 'keep-alive', 'te', 'proxy-authorization'])
      expect(headers.has(name), name).toBe(false);
    expect(headers.get('x-end-to-end')).toBe('kept');
  });

  it('keeps the WebSocket handshake', () => {
    const request = new Request('https://shop.example/ws', {
      headers: { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'k' },
    });
    const headers = originRequestHeaders(request, new URL(request.url), facts);
    expect(headers.get('upgrade')).toBe('websocket');
    expect(headers.get('connection')).toBe('Upgrade');
    expect(headers.get('sec-websocket-key')).toBe('k');
  });

  it('sets X-Forwarded-For, -Proto and -Host, appending to a chain without repeating the client', () => {
    const request = new Request('https://shop.example/cart', { headers: { 'x-forwarded-for': '203.0.113.1' } });
    const headers = originRequestHeaders(request, new URL(request.url), facts);
    expect(headers.get('x-forwarded-for')).toBe('203.0.113.1, 198.51.100.7');
    expect(headers.get('x-forwarded-proto')).toBe('https');
    expect(headers.get('x-forwarded-host')).toBe('shop.example');
    const already = new Request('https://shop.example/', {
      headers: { 'x-forwarded-for': '203.0.113.1, 198.51.100.7' },
    });
    expect(originRequestHeaders(already, new URL(already.url), facts).get('x-forwarded-for')).toBe(
      '203.0.113.1, 198.51.100.7',
    );
  });

  it('removes the affinity cookie and keeps the others', () => {
    const request = new Request('https://shop.example/', { headers: { cookie: 'a=1; __affinity=1.x.y; b=2' } });
    expect(originRequestHeaders(request, new URL(request.url), facts).get('cookie')).toBe('a=1; b=2');
    const only = new Request('https://shop.example/', { headers: { cookie: '__affinity=1.x.y' } });
    expect(originRequestHeaders(only, new URL(only.url), facts).has('cookie')).toBe(false);
  });

  it('removes the admin session cookie, under either of its names', () => {
    const request = new Request('https://shop.example/', {
      headers: { cookie: '__Secure-edge-affinity-admin=s; a=1; edge-affinity-admin=s; b=2' },
    });
    expect(originRequestHeaders(request, new URL(request.url), facts).get('cookie')).toBe('a=1; b=2');
  });
});

describe('withoutCookies', () => {
  it('keeps other cookies byte for byte, including look-alike names and duplicates', () => {
    expect(withoutCookies('x__affinity=1; __affinity=2; __affinity2=3; c="q%20"; c=4', ['__affinity'])).toBe(
      'x__affinity=1; __affinity2=3; c="q%20"; c=4',
    );
    expect(withoutCookies(null, ['__affinity'])).toBeNull();
  });

  it('removes every cookie named', () => {
    expect(withoutCookies('a=1; one=x; b=2; two=y; one=z; c=3', ['one', 'two'])).toBe('a=1; b=2; c=3');
    expect(withoutCookies('one=x; two=y', ['one', 'two'])).toBeNull();
  });
});

describe('clientResponseHeaders', () => {
  it('keeps every Set-Cookie and drops hop-by-hop headers', () => {
    const headers = new Headers([
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['connection', 'keep-alive'],
      ['keep-alive', 'timeout=5'],
      ['content-type', 'text/html'],
    ]);
    const out = clientResponseHeaders(new Response('x', { headers }));
    expect(out.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(out.has('keep-alive')).toBe(false);
    expect(out.get('content-type')).toBe('text/html');
  });
});
