import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../worker/core/config-parse';
import type { Config } from '../../worker/core/config-schema';
import { compileRoutingTable } from '../../worker/core/routing-table';
import { clientResponseHeaders, originRequestHeaders, withoutCookies } from '../../worker/http/forward-headers';

function validConfig(overrides: object): Config {
  const parsed = parseConfig({ origins: [{ id: 'a', url: 'https://a.example' }], ...overrides });
  if (!parsed.ok) throw new Error('invalid test configuration');
  return parsed.config;
}

const facts = { strippedCookies: ['__affinity'], clientIp: '198.51.100.7' };

/** Every header a framework may trust to name the client or how it connected, each with a forged value. */
const FORGED = {
  forwarded: 'for=10.0.0.1;host=evil.example;proto=https',
  'x-forwarded-for': '10.0.0.1',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'https',
  'x-forwarded-port': '8443',
  'x-forwarded-prefix': '/admin',
  'x-forwarded-server': 'evil',
  'x-forwarded-ssl': 'on',
  'x-real-ip': '10.0.0.1',
  'x-client-ip': '10.0.0.1',
  'x-cluster-client-ip': '10.0.0.1',
  'client-ip': '10.0.0.1',
  'true-client-ip': '10.0.0.1',
  'x-original-url': '/admin',
  'x-rewrite-url': '/admin',
  'front-end-https': 'on',
};

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

  it('names the client and the connection from what Cloudflare saw, never from what the client claims', () => {
    const request = new Request('https://shop.example/cart', { headers: FORGED });
    const headers = originRequestHeaders(request, new URL(request.url), facts);
    expect(Object.fromEntries([...headers].filter(([name]) => name in FORGED))).toEqual({
      forwarded: 'for=198.51.100.7;host=shop.example;proto=https',
      'x-forwarded-for': '198.51.100.7',
      'x-forwarded-host': 'shop.example',
      'x-forwarded-proto': 'https',
      'x-forwarded-port': '443',
      'x-real-ip': '198.51.100.7',
    });
  });

  it('quotes an IPv6 client and a host with a port in Forwarded (RFC 7239 §4), and says the port', () => {
    const request = new Request('http://shop.example:8080/');
    const headers = originRequestHeaders(request, new URL(request.url), { ...facts, clientIp: '2001:db8::7' });
    expect(headers.get('forwarded')).toBe('for="[2001:db8::7]";host="shop.example:8080";proto=http');
    expect(headers.get('x-forwarded-port')).toBe('8080');
  });

  it('leaves the client out rather than pass on a claim when the address is unknown', () => {
    const request = new Request('http://shop.example/', { headers: FORGED });
    const headers = originRequestHeaders(request, new URL(request.url), { ...facts, clientIp: null });
    for (const name of ['x-forwarded-for', 'x-real-ip', 'true-client-ip']) expect(headers.has(name), name).toBe(false);
    expect(headers.get('forwarded')).toBe('host=shop.example;proto=http');
  });

  it('removes the affinity cookie and keeps the others', () => {
    const request = new Request('https://shop.example/', { headers: { cookie: 'a=1; __affinity=1.x.y; b=2' } });
    expect(originRequestHeaders(request, new URL(request.url), facts).get('cookie')).toBe('a=1; b=2');
    const only = new Request('https://shop.example/', { headers: { cookie: '__affinity=1.x.y' } });
    expect(originRequestHeaders(only, new URL(only.url), facts).has('cookie')).toBe(false);
  });

  it('removes the worker’s own cookies: the affinity cookie and the admin session’s, under either name', () => {
    const request = new Request('https://shop.example/', {
      headers: { cookie: '__Secure-edge-affinity-admin=s; a=1; edge-affinity-admin=s; pin=1.x; b=2' },
    });
    const { ownCookies } = compileRoutingTable(validConfig({ affinity: { cookie: 'pin' } }));
    const headers = originRequestHeaders(request, new URL(request.url), { ...facts, strippedCookies: ownCookies });
    expect(headers.get('cookie')).toBe('a=1; b=2');
  });
});

describe('withoutCookies', () => {
  it('keeps other cookies byte for byte, including look-alike names and duplicates', () => {
    expect(withoutCookies('x__affinity=1; __affinity=2; __affinity2=3; c="q%20"; c=4', ['__affinity'])).toBe(
      'x__affinity=1; __affinity2=3; c="q%20"; c=4',
    );
    expect(withoutCookies('a=1;__affinity=2; admin=3', ['__affinity', 'admin'])).toBe('a=1');
    expect(withoutCookies('__affinity=2', ['__affinity'])).toBeNull();
  });

  it('leaves a header that holds none of the names untouched', () => {
    expect(withoutCookies(null, ['__affinity'])).toBeUndefined();
    expect(withoutCookies('a=1;b=2', ['__affinity'])).toBeUndefined();
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
