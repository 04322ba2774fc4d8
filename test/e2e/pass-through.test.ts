import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { createServer, request as httpRequest, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Client, openSessions } from './support/client';
import { EchoOrigin } from './support/echo-origin';
import { WorkerUnderTest } from './support/worker-under-test';

let origin: EchoOrigin;
let prefixed: Server;
let worker: WorkerUnderTest;

beforeAll(async () => {
  origin = await EchoOrigin.start('app-1');
  // A second kind of origin: mounted under a path prefix, answering with compressed and streamed bodies.
  prefixed = createServer((request, response) => {
    if (request.url?.startsWith('/mounted/gzip')) {
      response.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
      return void response.end(gzipSync('compressed at the origin'));
    }
    if (request.url?.startsWith('/mounted/stream')) {
      response.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const timer = setInterval(() => {
        response.write(`chunk ${n}\n`);
        if (++n === 5) {
          clearInterval(timer);
          response.end();
        }
      }, 20);
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': 'mounted' });
    response.end(`path seen by the origin: ${request.url}`);
  }).listen(0, '127.0.0.1');
  await new Promise((resolve) => prefixed.once('listening', resolve));
  worker = await WorkerUnderTest.start({ config: { origins: [{ id: 'app-1', url: origin.url }] } });
});
afterAll(async () => {
  await worker?.dispose();
  await origin?.stop();
  prefixed?.close();
});

const lastSeen = () => origin.seen.at(-1)!;

function rawGet(base: string, headers: OutgoingHttpHeaders): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(new URL('/', base), { headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('pass-through', () => {
  it('forwards method, path, query, headers and body intact', async () => {
    const body = randomBytes(100 * 1024);
    const client = new Client(worker);
    const { echo } = await client.echo('/api/items/42?sort=desc&q=a%20b', {
      method: 'PATCH',
      headers: {
        'content-type': 'application/octet-stream',
        'x-request-id': 'req-1',
        authorization: 'Bearer app-token',
      },
      body,
    });
    expect(echo).toMatchObject({ method: 'PATCH', url: '/api/items/42?sort=desc&q=a%20b', bodyLength: body.length });
    expect(echo.bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(echo.headers).toMatchObject({
      'x-request-id': 'req-1',
      authorization: 'Bearer app-token',
      'content-type': 'application/octet-stream',
    });
  });

  it('streams a chunked request body of unknown length intact', async () => {
    const parts = [randomBytes(40_000), randomBytes(40_000), randomBytes(10)];
    const stream = new ReadableStream({
      start(controller) {
        for (const part of parts) controller.enqueue(part);
        controller.close();
      },
    });
    const { echo } = await new Client(worker).echo('/upload', {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(echo.bodySha256).toBe(createHash('sha256').update(Buffer.concat(parts)).digest('hex'));
  });

  it('sets X-Forwarded-For, -Proto and -Host, and drops hop-by-hop headers', async () => {
    // undici refuses to send a custom Connection header, so this one goes out through node:http.
    await rawGet(worker.url, {
      connection: 'keep-alive, x-private-hop',
      'x-private-hop': 'secret',
      'keep-alive': 'timeout=5',
    });
    const { headers } = lastSeen();
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-forwarded-host']).toBe(new URL(worker.url).host);
    expect(headers['x-private-hop']).toBeUndefined();
    expect(headers['keep-alive']).toBeUndefined();
  });

  it("keeps the application's cookies, and takes the affinity and admin session cookies out", async () => {
    const client = new Client(worker);
    await client.echo('/');
    const { echo } = await client.echo('/', {
      headers: { cookie: 'a=1; edge-affinity-admin=s; b="x y"; __Secure-edge-affinity-admin=s; c=3' },
    });
    expect(client.affinityToken).toBeTruthy();
    expect(echo.headers.cookie).toBe('a=1; b="x y"; c=3');
  });

  it('passes back status, headers and body unchanged, every Set-Cookie of the origin included', async () => {
    const client = new Client(worker);
    const { response, text } = await client.request('/set-cookies');
    expect(response.status).toBe(200);
    expect(text).toBe('cookies');
    const setCookies = response.headers.getSetCookie();
    expect(setCookies).toEqual(expect.arrayContaining(['app_session=abc; Path=/; HttpOnly', 'theme=dark; Path=/']));
    expect(setCookies.filter((c) => c.startsWith('__affinity='))).toHaveLength(1);
    const { response: echoed } = await client.request('/');
    expect(echoed.headers.get('x-custom')).toBe('from-origin');
  });

  it('passes redirects back instead of following them', async () => {
    const { response } = await new Client(worker).request('/redirect');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/elsewhere');
  });

  it('passes an origin 5xx through without retrying it elsewhere', async () => {
    const before = origin.seen.length;
    const { response, text } = await new Client(worker).request('/status/503');
    expect(response.status).toBe(503);
    expect(text).toBe('status 503 from app-1');
    expect(origin.seen.length).toBe(before + 1);
  });

  describe('WebSocket upgrades, over three origins', () => {
    let fleet: EchoOrigin[];
    let sticky: WorkerUnderTest;
    beforeAll(async () => {
      fleet = await Promise.all(['ws-1', 'ws-2', 'ws-3'].map((id) => EchoOrigin.start(id)));
      sticky = await WorkerUnderTest.start({ config: { origins: fleet.map((o) => ({ id: o.id, url: o.url })) } });
    });
    afterAll(async () => {
      await sticky?.dispose();
      await Promise.all(fleet.map((o) => o.stop()));
    });

    /** Opens a WebSocket through the worker, says hello, and returns the origin's reply and the handshake's cookies. */
    async function helloOverWebSocket(cookie?: string): Promise<{ reply: string; setCookie: string[] }> {
      const socket = new WebSocket(`${sticky.url.replace('http', 'ws')}/ws`, cookie ? { headers: { cookie } } : {});
      try {
        return await new Promise((resolve, reject) => {
          let setCookie: string[] = [];
          socket.on('upgrade', (response) => (setCookie = [response.headers['set-cookie'] ?? []].flat()));
          socket.on('open', () => socket.send('hello'));
          socket.on('message', (data) => resolve({ reply: data.toString(), setCookie }));
          socket.on('error', reject);
        });
      } finally {
        socket.close();
      }
    }

    it('carries a WebSocket upgrade to the pinned origin', async () => {
      const sessions = await openSessions(sticky, 12);
      // Sessions pinned to more than one origin: a socket sent anywhere but its pin shows.
      expect(new Set(sessions.map((s) => s.origin)).size).toBeGreaterThan(1);
      for (const { client, origin } of sessions) {
        const { reply } = await helloOverWebSocket(`__affinity=${client.affinityToken}`);
        expect(reply).toBe(`${origin}:hello`);
      }
      const handshakes = fleet.flatMap((o) => o.seen.filter((request) => request.url === '/ws'));
      expect(handshakes).toHaveLength(sessions.length);
      for (const handshake of handshakes) expect(String(handshake.headers.cookie ?? '')).not.toContain('__affinity');
    });

    it('pins a new session on its WebSocket handshake', async () => {
      const servedBy: string[] = [];
      for (let i = 0; i < 12; i++) {
        const { reply, setCookie } = await helloOverWebSocket();
        const origin = reply.slice(0, reply.indexOf(':'));
        const pin = setCookie.find((cookie) => cookie.startsWith('__affinity=1.'));
        expect(pin, 'the handshake sets the affinity cookie').toBeDefined();
        // The socket's session, carried on: its later requests go where its socket went.
        const client = new Client(sticky);
        client.jar.set('__affinity', pin!.split(';')[0]!.slice('__affinity='.length));
        for (let request = 0; request < 3; request++) {
          const { echo, affinitySetCookie } = await client.echo('/');
          expect({ origin: echo.origin, affinitySetCookie }).toEqual({ origin, affinitySetCookie: undefined });
        }
        servedBy.push(origin);
      }
      expect(new Set(servedBy).size, 'handshakes land on more than one origin').toBeGreaterThan(1);
    });
  });

  describe('an origin mounted under a path prefix', () => {
    let mounted: WorkerUnderTest;
    beforeAll(async () => {
      const port = (prefixed.address() as AddressInfo).port;
      mounted = await WorkerUnderTest.start({
        config: { origins: [{ id: 'mounted', url: `http://127.0.0.1:${port}/mounted/` }] },
      });
    });
    afterAll(() => mounted?.dispose());

    it('joins the prefix and the request path', async () => {
      const { text } = await new Client(mounted).request('/a/b?c=d');
      expect(text).toBe('path seen by the origin: /mounted/a/b?c=d');
    });

    it('passes compressed and streamed responses through intact', async () => {
      expect((await new Client(mounted).request('/gzip')).text).toBe('compressed at the origin');
      expect((await new Client(mounted).request('/stream')).text).toBe('chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n');
    });
  });
});
