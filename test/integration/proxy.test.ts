import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { importSigningKey, signAffinityToken } from '../../worker/core/session/affinity-token';
import { parseConfig } from '../../worker/core/config/config-parse';
import { compileRoutingTable } from '../../worker/core/routing/routing-table';
import {
  affinityCookie,
  answersWith,
  freshWorker,
  seedConfig,
  stubOrigins,
  testEnv,
  type OriginBehaviour,
} from './support';
import { sleep, until } from '../support/wait';
import { claimsOf } from '../support/affinity-claims';

const ORIGINS = ['one', 'two', 'three', 'four'].map((name) => ({ id: name, url: `http://${name}` }));
const SECRET = testEnv.AFFINITY_SECRET!;
const hostOf = (request: Request) => new URL(request.url).hostname;

beforeEach(() => seedConfig({ origins: ORIGINS }));
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function everyoneAnswers(): Record<string, OriginBehaviour> {
  return Object.fromEntries(ORIGINS.map((o) => [o.id, answersWith(o.id)]));
}

/** Opens a session and returns its cookie and origin. */
async function openSession(worker: ReturnType<typeof freshWorker>, url = 'http://proxy.test/') {
  const response = await worker.fetch(url);
  return { cookie: affinityCookie(response)!, origin: response.headers.get('x-served-by')!, response };
}

describe('the affinity cookie', () => {
  it('is Secure on https, and not on plain http', async () => {
    stubOrigins(everyoneAnswers());
    const worker = freshWorker();
    const secure = (await openSession(worker, 'https://proxy.test/')).response.headers.getSetCookie()[0]!;
    const plain = (await openSession(worker, 'http://proxy.test/')).response.headers.getSetCookie()[0]!;
    expect(secure.split('; ')).toContain('Secure');
    expect(plain.split('; ')).not.toContain('Secure');
  });

  it('honours the configured name, lifetime and SameSite, and a __Host- prefix', async () => {
    await seedConfig({ origins: ORIGINS, affinity: { cookie: '__Host-pin', ttl: 600, sameSite: 'Strict' } });
    stubOrigins(everyoneAnswers());
    const setCookie = (await freshWorker().fetch('http://proxy.test/')).headers.getSetCookie()[0]!;
    expect(setCookie).toMatch(/^__Host-pin=1\./);
    expect(setCookie.split('; ')).toEqual(
      expect.arrayContaining(['Max-Age=600', 'Path=/', 'HttpOnly', 'Secure', 'SameSite=Strict']),
    );
    expect(setCookie).not.toMatch(/Domain=/);
  });

  it('is re-issued past half its lifetime, and not before (sliding expiry)', async () => {
    await seedConfig({ origins: ORIGINS, affinity: { ttl: 100 } });
    stubOrigins(everyoneAnswers());
    const worker = freshWorker();
    const start = Date.now();
    const { cookie } = await openSession(worker);
    vi.spyOn(Date, 'now').mockReturnValue(start + 40_000);
    expect(affinityCookie(await worker.fetch('http://proxy.test/', { headers: { cookie } }))).toBeUndefined();
    vi.spyOn(Date, 'now').mockReturnValue(start + 60_000);
    expect(affinityCookie(await worker.fetch('http://proxy.test/', { headers: { cookie } }))).toBeDefined();
  });

  it('starts a new pin once the session has been idle past its lifetime', async () => {
    await seedConfig({ origins: ORIGINS, affinity: { ttl: 100 } });
    stubOrigins(everyoneAnswers());
    const worker = freshWorker();
    const { cookie } = await openSession(worker);
    vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 101_000);
    const response = await worker.fetch('http://proxy.test/', { headers: { cookie } });
    expect(response.status).toBe(200);
    expect(affinityCookie(response)).toBeDefined();
  });
});

describe('in-request failover', () => {
  it('retries a refused connection on the next origin of the session’s own preference list, and re-pins there', async () => {
    stubOrigins(everyoneAnswers());
    const { cookie, origin } = await openSession(freshWorker());
    // The pinned origin dies; a fresh isolate (no local ejection yet) finds out by connecting.
    const seen = stubOrigins({ ...everyoneAnswers(), [origin]: 'refuse' });
    const response = await freshWorker().fetch('http://proxy.test/', { headers: { cookie } });
    const servedBy = response.headers.get('x-served-by')!;
    expect(response.status).toBe(200);
    expect(seen.map(hostOf)).toEqual([origin, servedBy]);
    const moved = affinityCookie(response)!;
    const again = await freshWorker().fetch('http://proxy.test/', { headers: { cookie: moved } });
    expect(again.headers.get('x-served-by')).toBe(servedBy);
    expect(seen.map(hostOf)).toEqual([origin, servedBy, servedBy]);
  });

  it('does not replay a body it could not buffer (over 64 KiB)', async () => {
    stubOrigins(everyoneAnswers());
    const { cookie, origin } = await openSession(freshWorker());
    const seen = stubOrigins({ ...everyoneAnswers(), [origin]: 'refuse' });
    const body = new Uint8Array(70 * 1024);
    const response = await freshWorker().fetch('http://proxy.test/upload', {
      method: 'POST',
      body,
      headers: { cookie, 'content-length': String(body.length) },
    });
    expect(response.status).toBe(502);
    expect(await response.text()).toMatch(/cannot be replayed/);
    expect(seen.map(hostOf)).toEqual([origin]);
  });

  it('replays a buffered body byte for byte (an idempotent PUT, after a refused connection)', async () => {
    const received: string[] = [];
    const echo: OriginBehaviour = async (request) => {
      received.push(await request.text());
      return answersWith(hostOf(request))(request);
    };
    stubOrigins(Object.fromEntries(ORIGINS.map((o) => [o.id, echo])));
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    stubOrigins({ ...Object.fromEntries(ORIGINS.map((o) => [o.id, echo])), [origin]: 'refuse' });
    const response = await freshWorker().fetch('http://proxy.test/', {
      method: 'PUT',
      body: 'x'.repeat(1024),
      headers: { cookie },
    });
    expect(response.status).toBe(200);
    expect(received.at(-1)).toBe('x'.repeat(1024));
  });

  it('retries a GET or PUT that timed out before response headers on the next origin and re-pins there; a POST is answered 504 and runs once', async () => {
    await seedConfig({ origins: ORIGINS, proxy: { timeout: 0.2 } });
    stubOrigins(everyoneAnswers());
    const { cookie, origin } = await openSession(freshWorker());
    const hang: OriginBehaviour = (request) =>
      new Promise((_, reject) =>
        request.signal.addEventListener('abort', () => reject(new Error('The operation was aborted'))),
      );
    const received: string[] = [];
    const answers: OriginBehaviour = async (request) => {
      received.push(await request.text());
      return answersWith(new URL(request.url).hostname)(request);
    };
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', 'cart line'],
    ] as const) {
      const seen = stubOrigins({ ...Object.fromEntries(ORIGINS.map((o) => [o.id, answers])), [origin]: hang });
      const response = await freshWorker().fetch('http://proxy.test/', { method, body, headers: { cookie } });
      const servedBy = response.headers.get('x-served-by')!;
      expect([method, response.status]).toEqual([method, 200]);
      expect(seen.map(hostOf)).toEqual([origin, servedBy]);
      expect(
        (await claimsOf(affinityCookie(response)!, SECRET)).originId,
        'the session is re-pinned where it was answered',
      ).toBe(servedBy);
    }
    expect(received).toEqual(['', 'cart line']);
    const seen = stubOrigins({ ...Object.fromEntries(ORIGINS.map((o) => [o.id, answers])), [origin]: hang });
    const response = await freshWorker().fetch('http://proxy.test/', {
      method: 'POST',
      body: 'order',
      headers: { cookie },
    });
    expect(response.status).toBe(504);
    expect(response.headers.get('retry-after')).toBeTruthy();
    expect(seen.map(hostOf), 'the POST went to its origin alone').toEqual([origin]);
    expect(affinityCookie(response), 'a slow origin keeps its session').toBeUndefined();
  });

  it('does not eject or report an origin for a timeout: one slow endpoint moves its own session, no other', async () => {
    await seedConfig({ origins: ORIGINS, proxy: { timeout: 0.2 } });
    stubOrigins(everyoneAnswers());
    const worker = freshWorker();
    const sessions = await Promise.all(Array.from({ length: 30 }, () => openSession(worker)));
    const slow = sessions[0]!.origin;
    const hang: OriginBehaviour = (request) =>
      request.url.endsWith('/report')
        ? new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(new Error('aborted'))))
        : answersWith(slow)(request);
    stubOrigins({ ...everyoneAnswers(), [slow]: hang });
    const report = await worker.fetch('http://proxy.test/report', { headers: { cookie: sessions[0]!.cookie } });
    expect(report.status).toBe(200);
    expect((await claimsOf(affinityCookie(report)!, SECRET)).originId, 'this session moved').not.toBe(slow);
    for (const session of sessions.slice(1).filter((s) => s.origin === slow)) {
      const response = await worker.fetch('http://proxy.test/page', { headers: { cookie: session.cookie } });
      expect(response.headers.get('x-served-by')).toBe(slow);
    }
    expect(worker.monitor.reports).toEqual([]);
  });

  it('answers 504, or 503 in strict mode, when the origins accept the connection and never answer', async () => {
    const hang: OriginBehaviour = (request) =>
      new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(new Error('aborted'))));
    for (const failover of ['sticky', 'none'] as const) {
      await seedConfig({ origins: ORIGINS, proxy: { timeout: 0.1, attempts: 2 }, affinity: { failover } });
      stubOrigins(everyoneAnswers());
      const { cookie } = await openSession(freshWorker());
      stubOrigins(Object.fromEntries(ORIGINS.map((o) => [o.id, hang])));
      const response = await freshWorker().fetch('http://proxy.test/', { headers: { cookie } });
      expect([failover, response.status]).toEqual([failover, failover === 'none' ? 503 : 504]);
      expect(await response.text()).toMatch(failover === 'none' ? /failover is off/ : /did not answer in time/);
      expect(response.headers.get('retry-after')).toBeTruthy();
      expect(affinityCookie(response)).toBeUndefined();
    }
  });

  it('gives a streamed upload (over 64 KiB) all the time it needs: no header timeout', async () => {
    await seedConfig({ origins: ORIGINS, proxy: { timeout: 0.1 } });
    const slowly: OriginBehaviour = async (request) => {
      const size = (await request.arrayBuffer()).byteLength;
      await sleep(300);
      return new Response(`received ${size}`);
    };
    stubOrigins(Object.fromEntries(ORIGINS.map((o) => [o.id, slowly])));
    const body = new Uint8Array(100 * 1024);
    const response = await freshWorker().fetch('http://proxy.test/upload', {
      method: 'POST',
      body,
      headers: { 'content-length': String(body.length) },
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`received ${body.length}`);
  });

  describe('a chunked body (no Content-Length), read for half a second in case it ends', () => {
    /** README: "a chunked body is buffered only if it arrives within half a second". */
    const HALF_A_SECOND = 500;
    const encoder = new TextEncoder();

    /**
     * A client's chunked body that has sent "hello" and holds the rest, and a fetch of it through the
     * worker with the worker's clock and timers faked from now on (the test moves time by hand).
     */
    async function sendChunkedWithFakeTime() {
      let rest!: ReadableStreamDefaultController<Uint8Array>;
      let pulls = 0;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          rest = controller;
          controller.enqueue(encoder.encode('hello'));
        },
        pull: () => void pulls++,
      });
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      const started = Date.now();
      const response = freshWorker().fetch('http://proxy.test/duplex', {
        method: 'POST',
        body,
        duplex: 'half',
      } as RequestInit);
      // The worker has taken "hello", asks for more, and has armed its wait.
      await until('the worker reading the body', () => pulls > 0 && vi.getTimerCount() > 0);
      return { started, response, send: (text: string) => rest.enqueue(encoder.encode(text)), end: () => rest.close() };
    }

    it('holds a body that keeps streaming for exactly half a second, then sends what it has ahead of the rest', async () => {
      const received: { at: number; text: string }[] = [];
      const seen = stubOrigins(
        Object.fromEntries(
          ORIGINS.map((o) => [
            o.id,
            async (request: Request) => {
              const decoder = new TextDecoder();
              for await (const chunk of request.body!) received.push({ at: Date.now(), text: decoder.decode(chunk) });
              return new Response(received.map((r) => r.text).join(''));
            },
          ]),
        ),
      );
      const client = await sendChunkedWithFakeTime();
      await vi.advanceTimersByTimeAsync(HALF_A_SECOND - 1);
      await sleep(50);
      expect(seen, 'sent on before the half second was up').toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      await until('the origin receiving the first chunk', () => received.length > 0);
      expect(received).toEqual([{ at: client.started + HALF_A_SECOND, text: 'hello' }]);
      // The client sends the rest only now that the origin has the beginning (a duplex stream).
      client.send(' world');
      client.end();
      vi.useRealTimers();
      const response = await client.response;
      expect(await response.text()).toBe('hello world');
      expect(seen).toHaveLength(1);
    });

    it('buffers a body that ends within the half second, and so replays it after Cloudflare could not reach the origin', async () => {
      const attempts: { origin: string; at: number }[] = [];
      const seen = stubOrigins(
        Object.fromEntries(
          ORIGINS.map((o) => [
            o.id,
            async (request: Request) => {
              attempts.push({ origin: o.id, at: Date.now() });
              // A POST may be sent again only when it never reached the origin: Cloudflare's 522.
              if (attempts.length === 1) return new Response('error code: 522', { status: 522 });
              return new Response(`${o.id} received ${await request.text()}`, { headers: { 'x-served-by': o.id } });
            },
          ]),
        ),
      );
      const client = await sendChunkedWithFakeTime();
      await vi.advanceTimersByTimeAsync(HALF_A_SECOND - 1);
      client.send(' world');
      client.end();
      // No more fake time passes: a buffered body goes out as soon as it has ended.
      await until('the replay on the next origin', () => attempts.length === 2);
      const response = await client.response;
      const servedBy = response.headers.get('x-served-by')!;
      expect(await response.text()).toBe(`${servedBy} received hello world`);
      expect(seen.map(hostOf)).toEqual([attempts[0]!.origin, servedBy]);
      expect(attempts.map((a) => a.at)).toEqual([
        client.started + HALF_A_SECOND - 1,
        client.started + HALF_A_SECOND - 1,
      ]);
    });
  });

  it('re-pins later sessions of a failed origin before trying it again (local ejection)', async () => {
    stubOrigins(everyoneAnswers());
    const worker = freshWorker();
    const sessions = await Promise.all(Array.from({ length: 40 }, () => openSession(worker)));
    const victim = sessions[0]!.origin;
    const seen = stubOrigins({ ...everyoneAnswers(), [victim]: 'refuse' });
    for (const session of sessions.filter((s) => s.origin === victim)) {
      expect((await worker.fetch('http://proxy.test/', { headers: { cookie: session.cookie } })).status).toBe(200);
    }
    expect(seen.filter((r) => hostOf(r) === victim)).toHaveLength(1);
  });

  it('with failover "none", answers 503 instead of moving the session', async () => {
    await seedConfig({ origins: ORIGINS, affinity: { failover: 'none' } });
    stubOrigins(everyoneAnswers());
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    const seen = stubOrigins({ ...everyoneAnswers(), [origin]: 'refuse' });
    const response = await worker.fetch('http://proxy.test/', { headers: { cookie } });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBeTruthy();
    expect(affinityCookie(response)).toBeUndefined();
    expect(seen.map(hostOf)).toEqual([origin]);
  });
});

describe('the decision log', () => {
  // Every line, routine ones included; the default ("changes") is tested below.
  beforeEach(() => seedConfig({ origins: ORIGINS, affinity: { decisionLog: 'all' } }));

  it('writes one JSON line per request with origin, decision, reason, cookie outcome, status and duration', async () => {
    stubOrigins(everyoneAnswers());
    const worker = freshWorker();
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const { cookie, origin } = await openSession(worker);
    await worker.fetch('http://proxy.test/a?secret=1', { headers: { cookie, 'cf-connecting-ip': '203.0.113.9' } });
    const lines = log.mock.calls.map(([line]) => JSON.parse(String(line))).filter((l) => l.event === 'request');
    expect(lines).toEqual([
      expect.objectContaining({
        origin,
        decision: 'new',
        cookie: 'absent',
        status: 200,
        durationMs: expect.any(Number),
      }),
      expect.objectContaining({ origin, decision: 'pinned', cookie: 'valid', status: 200, path: '/a' }),
    ]);
    const text = log.mock.calls.flat().join('\n');
    expect(text).not.toContain(cookie.split('=')[1]!);
    expect(text).not.toContain('203.0.113.9');
    expect(text).not.toContain('secret=1');
  });
});

describe('session keys', () => {
  it('sends the same header value to the same origin with or without an affinity cookie', async () => {
    await seedConfig({ origins: ORIGINS, affinity: { key: 'header:x-user-id' } });
    stubOrigins(everyoneAnswers());
    const worker = freshWorker();
    for (const user of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      const served = new Set<string | null>();
      for (let i = 0; i < 5; i++)
        served.add(
          (await worker.fetch('http://proxy.test/', { headers: { 'x-user-id': user } })).headers.get('x-served-by'),
        );
      expect(served.size, user).toBe(1);
    }
  });

  it('falls back to a random session id when the header is absent', async () => {
    await seedConfig({ origins: ORIGINS, affinity: { key: 'header:x-user-id' } });
    stubOrigins(everyoneAnswers());
    const worker = freshWorker();
    const served = new Set<string | null>();
    for (let i = 0; i < 40; i++) served.add((await worker.fetch('http://proxy.test/')).headers.get('x-served-by'));
    expect(served.size).toBeGreaterThan(1);
  });
});

describe('decision log reasons', () => {
  beforeEach(() => seedConfig({ origins: ORIGINS, affinity: { decisionLog: 'all' } }));

  /** Opens a session, changes the world, sends the session's next request; returns that request's log line. */
  async function decisionAfter(
    change: (ctx: {
      worker: ReturnType<typeof freshWorker>;
      origin: string;
    }) => Promise<ReturnType<typeof freshWorker> | void>,
  ) {
    stubOrigins(everyoneAnswers());
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    const next = (await change({ worker, origin })) ?? worker;
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await next.fetch('http://proxy.test/', { headers: { cookie } });
    const lines = log.mock.calls.map(([line]) => JSON.parse(String(line))).filter((l) => l.event === 'request');
    log.mockRestore();
    return { line: lines.at(-1), origin };
  }

  it('never logs a path parameter’s value (a session id in ;jsessionid=), nor the query', async () => {
    stubOrigins(everyoneAnswers());
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await freshWorker().fetch('http://proxy.test/cart;jsessionid=SECRET1/pay;SECRET2?token=SECRET3');
    const lines = log.mock.calls.map(([line]) => String(line));
    log.mockRestore();
    const request = lines.map((l) => JSON.parse(l)).find((l) => l.event === 'request');
    expect(request.path).toBe('/cart;jsessionid=…/pay;…');
    expect(lines.join('\n')).not.toMatch(/SECRET/);
  });

  it('says "pinned" with a valid cookie', async () => {
    const { line, origin } = await decisionAfter(async () => {});
    expect(line).toMatchObject({ decision: 'pinned', cookie: 'valid', origin });
    expect(line.reason).toBeUndefined();
  });

  it('says "repinned" because "unhealthy" when the monitor calls the origin down', async () => {
    const { line, origin } = await decisionAfter(async ({ worker, origin }) => {
      worker.monitor.unhealthy = [origin];
      vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 6_000); // the snapshot is due for a refresh
      await worker.fetch('http://proxy.test/warm-up'); // whose upkeep refreshes it
    });
    expect(line).toMatchObject({ decision: 'repinned', reason: 'unhealthy', cookie: 'valid' });
    expect(line.origin).not.toBe(origin);
  });

  it('says "repinned" because "connect-failed" when the connection fails inside the request', async () => {
    const { line, origin } = await decisionAfter(
      async ({ origin }) => void stubOrigins({ ...everyoneAnswers(), [origin]: 'refuse' }),
    );
    expect(line).toMatchObject({
      decision: 'repinned',
      reason: 'connect-failed',
      cookie: 'valid',
      tried: 2,
      attempts: [{ origin, kind: 'may-have-reached', reason: 'connect-failed', error: 'Network connection lost.' }],
    });
  });

  it('says "repinned" because "timeout" when the origin did not answer in time', async () => {
    await seedConfig({ origins: ORIGINS, proxy: { timeout: 0.1 } });
    const hang: OriginBehaviour = (request) =>
      new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(new Error('aborted'))));
    const { line, origin } = await decisionAfter(
      async ({ origin }) => void stubOrigins({ ...everyoneAnswers(), [origin]: hang }),
    );
    expect(line).toMatchObject({
      decision: 'repinned',
      reason: 'timeout',
      cookie: 'valid',
      tried: 2,
      attempts: [{ origin, kind: 'may-have-reached', reason: 'timeout', error: expect.any(String) }],
    });
    expect(line.origin).not.toBe(origin);
  });

  it('says "repinned" because "removed", with an "unknown-origin" cookie, when the origin left the configuration', async () => {
    // A cookie the worker itself could have signed, for an origin that is not (any longer) configured.
    const sessionId = 'SessionOfAGoneOne';
    const signer = await importSigningKey(testEnv.AFFINITY_SECRET!);
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    const token = await signAffinityToken({ originId: 'gone', sessionId, expiresAt }, signer);
    stubOrigins(everyoneAnswers());
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const response = await freshWorker().fetch('http://proxy.test/', { headers: { cookie: `__affinity=${token}` } });
    const [line] = log.mock.calls.map(([text]) => JSON.parse(String(text))).filter((l) => l.event === 'request');
    // The session moves along its own preference list: its first choice among the configured origins.
    const parsed = parseConfig({ origins: ORIGINS });
    if (!parsed.ok) throw new Error('the test configuration is invalid');
    const table = compileRoutingTable(parsed.config);
    const firstChoice = ORIGINS[table.selector.pick(sessionId, () => true, 1)[0]!]!.id;
    expect(line).toMatchObject({
      decision: 'repinned',
      reason: 'removed',
      cookie: 'unknown-origin',
      origin: firstChoice,
      tried: 1,
      attempts: [],
    });
    expect(response.headers.get('x-served-by')).toBe(firstChoice);
    // ...and keeps its id: the fresh cookie pins the same session to where it went.
    const { sessionId: keptId, originId: pinnedTo } = await claimsOf(affinityCookie(response)!, SECRET);
    expect({ keptId, pinnedTo }).toEqual({ keptId: sessionId, pinnedTo: firstChoice });

    // The same cookie with its signature altered is no pin at all: a new session, and "tampered".
    const signatureAt = token.lastIndexOf('.') + 1;
    const forged =
      token.slice(0, signatureAt) + (token[signatureAt] === 'A' ? 'B' : 'A') + token.slice(signatureAt + 1);
    log.mockClear();
    await freshWorker().fetch('http://proxy.test/', { headers: { cookie: `__affinity=${forged}` } });
    const [forgedLine] = log.mock.calls.map(([text]) => JSON.parse(String(text))).filter((l) => l.event === 'request');
    expect(forgedLine).toMatchObject({ decision: 'new', cookie: 'tampered' });
    expect(forgedLine.reason).toBeUndefined();
  });

  it('says "repinned" because "disabled" when the origin was disabled', async () => {
    const { line } = await decisionAfter(async ({ origin }) => {
      await seedConfig({ origins: ORIGINS.map((o) => (o.id === origin ? { ...o, state: 'disabled' } : o)) });
      return freshWorker();
    });
    expect(line).toMatchObject({ decision: 'repinned', reason: 'disabled', cookie: 'valid' });
  });

  it('says "repinned" because "expired", with an "expired" cookie, after the idle lifetime', async () => {
    const { line } = await decisionAfter(
      async () => void vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 82_801_000),
    );
    expect(line).toMatchObject({ decision: 'repinned', reason: 'expired', cookie: 'expired' });
  });

  it('reports a "previous-key" cookie after a rotation, and a "tampered" one as a new session', async () => {
    const rotated = await decisionAfter(async () =>
      freshWorker({ AFFINITY_SECRET: 'a-brand-new-secret', AFFINITY_SECRET_PREVIOUS: 'integration-test-secret' }),
    );
    expect(rotated.line).toMatchObject({ decision: 'pinned', cookie: 'previous-key', origin: rotated.origin });
    const forgotten = await decisionAfter(async () => freshWorker({ AFFINITY_SECRET: 'a-brand-new-secret' }));
    expect(forgotten.line).toMatchObject({ decision: 'new', cookie: 'tampered' });
  });

  it('by default (decisionLog "changes"), leaves out only routine requests (a valid pin kept without trouble)', async () => {
    await seedConfig({ origins: ORIGINS });
    stubOrigins(everyoneAnswers());
    const worker = freshWorker();
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const { cookie, origin } = await openSession(worker);
    await worker.fetch('http://proxy.test/', { headers: { cookie } });
    stubOrigins({ ...everyoneAnswers(), [origin]: 'refuse' });
    await worker.fetch('http://proxy.test/', { headers: { cookie } });
    const lines = log.mock.calls.map(([line]) => JSON.parse(String(line))).filter((l) => l.event === 'request');
    expect(lines.map((l) => l.decision)).toEqual(['new', 'repinned']);
  });

  it('adds the decision as a response header only when asked to', async () => {
    stubOrigins(everyoneAnswers());
    expect((await freshWorker().fetch('http://proxy.test/')).headers.has('x-affinity-decision')).toBe(false);
    await seedConfig({ origins: ORIGINS, affinity: { decisionHeader: true } });
    const response = await freshWorker().fetch('http://proxy.test/');
    expect(response.headers.get('x-affinity-decision')).toBe(
      `new; origin=${response.headers.get('x-served-by')}; cookie=absent`,
    );
  });
});

describe('the memory of verified cookies', () => {
  it('verifies a session’s cookie once per isolate, and still ends the pin when the cookie expires', async () => {
    await seedConfig({ origins: ORIGINS, affinity: { ttl: 100 } });
    stubOrigins(everyoneAnswers());
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    const verify = vi.spyOn(crypto.subtle, 'verify');
    for (let i = 0; i < 3; i++) {
      const response = await worker.fetch('http://proxy.test/', { headers: { cookie } });
      expect(response.headers.get('x-served-by')).toBe(origin);
    }
    expect(verify).toHaveBeenCalledTimes(1);
    vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 101_000);
    const expired = await worker.fetch('http://proxy.test/', { headers: { cookie } });
    expect(affinityCookie(expired), 'an expired cookie is a new pin, remembered or not').toBeDefined();
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('never remembers a cookie that did not verify', async () => {
    stubOrigins(everyoneAnswers());
    const worker = freshWorker();
    const { cookie } = await openSession(worker);
    const forged = `${cookie.slice(0, -2)}${cookie.endsWith('AA') ? 'BA' : 'AA'}`;
    const verify = vi.spyOn(crypto.subtle, 'verify');
    for (let i = 0; i < 2; i++) {
      const response = await worker.fetch('http://proxy.test/', { headers: { cookie: forged } });
      expect(affinityCookie(response), 'a forged cookie is no cookie: a fresh one is issued').toBeDefined();
    }
    expect(verify).toHaveBeenCalledTimes(2);
  });
});
