import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../worker/core/config/config-parse';
import type { Config } from '../../worker/core/config/config-schema';
import { compileRoutingTable } from '../../worker/core/routing/routing-table';
import {
  clientResponseHeaders,
  passesAsIs,
  prepareOriginHeaders,
  withoutCookies,
  type ForwardingFacts,
} from '../../worker/http/forward-headers';

function validConfig(overrides: object): Config {
  const parsed = parseConfig({ origins: [{ id: 'a', url: 'https://a.example' }], ...overrides });
  if (!parsed.ok) throw new Error('invalid test configuration');
  return parsed.config;
}

const facts = { strippedCookies: ['__affinity'], clientIp: '198.51.100.7' };
/** The worker's own cookies under `affinity.cookie: "pin"`. */
const OWN = compileRoutingTable(validConfig({ affinity: { cookie: 'pin' } })).ownCookies;

/** The headers an origin gets for `request`: the client's, edited in place as the forwarder does. */
function forOrigin(request: Request, overrides: Partial<ForwardingFacts> = {}): Headers {
  const headers = new Headers(request.headers);
  prepareOriginHeaders(headers, { ...facts, url: new URL(request.url), ...overrides });
  return headers;
}

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

describe('the headers an origin gets', () => {
  it('lose the hop-by-hop headers workerd would pass on: Proxy-* and those Connection names (RFC 9110 §7.6.1)', () => {
    const request = new Request('https://shop.example/', {
      headers: {
        connection: 'keep-alive, x-hop',
        'x-hop': '1',
        'proxy-authorization': 'Basic x',
        'proxy-connection': 'keep-alive',
        'x-end-to-end': 'kept',
      },
    });
    const headers = forOrigin(request);
    for (const name of ['x-hop', 'proxy-authorization', 'proxy-connection'])
      expect(headers.has(name), name).toBe(false);
    expect(headers.get('x-end-to-end')).toBe('kept');
  });

  it('keep the WebSocket handshake', () => {
    const request = new Request('https://shop.example/ws', {
      headers: { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'k' },
    });
    const headers = forOrigin(request);
    expect([headers.get('upgrade'), headers.get('connection'), headers.get('sec-websocket-key')]).toEqual([
      'websocket',
      'Upgrade',
      'k',
    ]);
  });

  it('name the client and the connection from what Cloudflare saw, never from what the client claims', () => {
    const headers = forOrigin(new Request('https://shop.example/cart', { headers: FORGED }));
    expect(Object.fromEntries([...headers].filter(([name]) => name in FORGED))).toEqual({
      'x-forwarded-for': '198.51.100.7',
      'x-forwarded-host': 'shop.example',
      'x-forwarded-proto': 'https',
    });
  });

  it('say the port of a host that has one, and the scheme of plain http', () => {
    const headers = forOrigin(new Request('http://shop.example:8080/'));
    expect([headers.get('x-forwarded-host'), headers.get('x-forwarded-proto')]).toEqual(['shop.example:8080', 'http']);
  });

  it('leave the client out rather than pass on a claim when the address is unknown', () => {
    const headers = forOrigin(new Request('http://shop.example/', { headers: FORGED }), { clientIp: null });
    for (const name of Object.keys(FORGED).filter((n) => n !== 'x-forwarded-host' && n !== 'x-forwarded-proto')) {
      expect(headers.has(name), name).toBe(false);
    }
  });

  it('lose the affinity cookie and keep the others', () => {
    expect(
      forOrigin(new Request('https://shop.example/', { headers: { cookie: 'a=1; __affinity=1.x.y; b=2' } })).get(
        'cookie',
      ),
    ).toBe('a=1; b=2');
    expect(
      forOrigin(new Request('https://shop.example/', { headers: { cookie: '__affinity=1.x.y' } })).has('cookie'),
    ).toBe(false);
  });

  it('lose the worker’s own cookies: the affinity cookie, its state and the admin session’s, under either name', () => {
    const request = new Request('https://shop.example/', {
      headers: { cookie: '__Secure-edge-affinity-admin=s; a=1; edge-affinity-admin=s; pin=1.x; pin_state=s; b=2' },
    });
    const { ownCookies } = compileRoutingTable(validConfig({ affinity: { cookie: 'pin' } }));
    expect(forOrigin(request, { strippedCookies: ownCookies }).get('cookie')).toBe('a=1; b=2');
  });

  it('lose every header of the worker’s and every other proxy’s claim, whatever case the client used', () => {
    const claims = {
      'Affinity-Control': 'repin=b',
      'Affinity-State': 'cart=1',
      'Affinity-Handoff-State': 'forged',
      'Affinity-Handoff-From': 'a',
      'X-Affinity-Decision': 'pinned',
      'X-Forwarded-Client-Cert': 'By=spiffe://admin;Hash=0',
      'X-Forwarded-Uri': '/admin',
      'X-Forwarded-Path': '/admin',
      'X-Envoy-Original-Path': '/admin',
      'X-Envoy-Original-Url': 'https://shop.example/admin',
      'X-Envoy-External-Address': '10.0.0.1',
      'X-Envoy-Internal': 'true',
      'X-Original-Method': 'DELETE',
      'X-HTTP-Method-Override': 'DELETE',
      'X-HTTP-Method': 'DELETE',
      'X-Method-Override': 'DELETE',
    };
    const headers = forOrigin(new Request('https://shop.example/cart', { headers: { ...claims, 'x-kept': '1' } }));
    for (const name of Object.keys(claims)) expect(headers.has(name), name).toBe(false);
    expect(headers.get('x-kept')).toBe('1');
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

describe('the origin’s response headers', () => {
  it('pass on as they are when workerd would drop every hop-by-hop header among them itself', () => {
    expect(
      passesAsIs(new Headers({ connection: 'keep-alive', 'keep-alive': 'timeout=5', 'set-cookie': 'a=1' }), OWN),
    ).toBe(true);
    expect(passesAsIs(new Headers({ 'content-type': 'text/html' }), OWN)).toBe(true);
  });

  it('are copied without the hop-by-hop headers workerd would pass on, every Set-Cookie kept', () => {
    const headers = new Headers([
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['connection', 'keep-alive, x-hop'],
      ['x-hop', '1'],
      ['proxy-authenticate', 'Basic'],
      ['content-type', 'text/html'],
    ]);
    expect(passesAsIs(headers, OWN)).toBe(false);
    const out = clientResponseHeaders(new Response('x', { headers }), OWN);
    expect(out.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect([out.has('x-hop'), out.has('proxy-authenticate'), out.get('content-type')]).toEqual([
      false,
      false,
      'text/html',
    ]);
    expect(passesAsIs(new Headers({ 'proxy-authenticate': 'Basic' }), OWN)).toBe(false);
  });

  it('never set one of the worker’s cookies: an origin’s Set-Cookie for them is dropped and named, the others kept', () => {
    const headers = new Headers([
      ['set-cookie', 'a=1; Path=/'],
      ['set-cookie', 'pin=1.forged; Path=/; HttpOnly'],
      ['set-cookie', ' pin_state =x'],
      ['set-cookie', 'edge-affinity-admin=s; Path=/_affinity'],
      ['set-cookie', 'pin2=kept'],
      ['set-cookie', '=pin=1.forged; Path=/app'],
      ['set-cookie', 'pin_state'],
    ]);
    expect(passesAsIs(headers, OWN)).toBe(false);
    const dropped: string[] = [];
    const out = clientResponseHeaders(new Response('x', { headers }), OWN, dropped);
    expect(out.getSetCookie()).toEqual(['a=1; Path=/', 'pin2=kept']);
    expect(dropped).toEqual(['pin', 'pin_state', 'edge-affinity-admin', 'pin', 'pin_state']);
  });
});
