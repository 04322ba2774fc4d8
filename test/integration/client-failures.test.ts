/**
 * Nothing a client sends or does can cost an origin its standing or move a session. The vectors are
 * built as workerd hands them to the worker in production: a GET or HEAD can arrive with a body stream
 * (`Content-Length: 0`, an empty chunked body, or a real body), which no Request built here can have,
 * so those requests are built as POSTs and given the method the client sent. A client that stalls is
 * tested end to end (test/e2e/client-failures.test.ts): a stream that never answers, built in a test
 * here, also stops the runtime's timers when other test files share it.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { affinityCookie, answersWith, freshWorker, seedConfig, stubOrigins, type OriginBehaviour } from './support';

const ORIGINS = ['one', 'two', 'three', 'four'].map((name) => ({ id: name, url: `http://${name}` }));

beforeEach(() => seedConfig({ origins: ORIGINS }));
afterEach(() => vi.restoreAllMocks());

/** Origins that read the whole body before answering, as a real server does. */
function readingOrigins(): Record<string, OriginBehaviour> {
  return Object.fromEntries(
    ORIGINS.map((o) => [
      o.id,
      async (request: Request) => {
        const body = await request.text();
        return new Response(`${o.id} got ${request.method} with ${body.length} bytes`, {
          headers: { 'x-served-by': o.id, 'x-content-length': request.headers.get('content-length') ?? 'none' },
        });
      },
    ]),
  );
}

/** A request with the method the client sent, whatever its body: as workerd delivers it. */
function asSent(method: string, init: RequestInit & { body: BodyInit }): Request {
  const request = new Request('http://proxy.test/', { ...init, method: 'POST' });
  Object.defineProperty(request, 'method', { value: method });
  return request;
}

/** A body that sends `bytes` and then fails, as when a client leaves half way. */
function abandoned(bytes: number): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (sent) return controller.error(new Error('Network connection lost.'));
      sent = true;
      controller.enqueue(new Uint8Array(bytes));
    },
  });
}

function decisionLines(log: { mock: { calls: unknown[][] } }): Record<string, unknown>[] {
  return log.mock.calls
    .map(([line]) => JSON.parse(String(line)) as Record<string, unknown>)
    .filter((line) => line.event === 'request');
}

describe('a GET or HEAD that declares a body', () => {
  it('is forwarded as an ordinary GET when the declared body is empty (Content-Length: 0)', async () => {
    const seen = stubOrigins(readingOrigins());
    const response = await freshWorker().fetch(asSent('GET', { body: '', headers: { 'content-length': '0' } }));
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/ got GET with 0 bytes$/);
    expect(response.headers.get('x-content-length')).toBe('none');
    expect(seen).toHaveLength(1);
  });

  it('is forwarded as an ordinary HEAD when its chunked body is empty', async () => {
    stubOrigins(readingOrigins());
    const body = new ReadableStream({ start: (controller) => controller.close() });
    const response = await freshWorker().fetch(asSent('HEAD', { body }));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-served-by')).not.toBeNull();
  });

  it.each([
    ['a declared body', { body: 'hello', headers: { 'content-length': '5' } }],
    ['a chunked body', { body: new Blob(['hello']).stream() }],
  ])('is refused with 400 that says why, for %s, and reaches no origin', async (_, init) => {
    const seen = stubOrigins(readingOrigins());
    const response = await freshWorker().fetch(asSent('GET', init));
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/GET or HEAD request with a body cannot be forwarded/);
    expect(seen).toEqual([]);
  });
});

describe('a client that fails while sending its body', () => {
  it('gets 400 for an upload abandoned half way, and the origin sees a cut request, not a short one', async () => {
    const received: string[] = [];
    const origins = readingOrigins();
    stubOrigins({
      ...origins,
      ...Object.fromEntries(
        ORIGINS.map((o) => [
          o.id,
          async (request: Request) => {
            received.push(`${(await request.arrayBuffer()).byteLength} bytes`);
            return answersWith(o.id)(request);
          },
        ]),
      ),
    });
    const body = abandoned(1000);
    const response = await freshWorker().fetch(
      new Request('http://proxy.test/upload', { method: 'POST', body, headers: { 'content-length': '100000' } }),
    );
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/request body ended before it was complete/);
    expect(received, 'no origin took the truncated body for a whole one').toEqual([]);
  });
});

type Misbehaviour = { method: string; make: () => RequestInit & { body: BodyInit } };

/** Every way a client can break a request on its side. */
const misbehaviours = fc.oneof(
  fc.record({
    method: fc.constantFrom('GET', 'HEAD'),
    make: fc.oneof(
      fc
        .integer({ min: 1, max: 100_000 })
        .map((n) => () => ({ body: 'x'.repeat(n), headers: { 'content-length': `${n}` } })),
      fc.integer({ min: 1, max: 5000 }).map((n) => () => ({ body: new Blob(['x'.repeat(n)]).stream() })),
      fc.integer({ min: 0, max: 70_000 }).map((n) => () => ({ body: abandoned(n) })),
    ),
  }),
  fc.record({
    method: fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE', 'GET'),
    make: fc.oneof(
      // Declared small (buffered) or large (streamed), and chunked, each abandoned after some bytes.
      fc
        .tuple(fc.integer({ min: 0, max: 60_000 }), fc.constantFrom(65_536, 100_000, 1_000_000))
        .map(([sent, declared]) => () => ({
          body: abandoned(sent),
          headers: { 'content-length': `${Math.max(declared, sent + 1)}` },
        })),
      fc.integer({ min: 0, max: 200_000 }).map((n) => () => ({ body: abandoned(n) })),
    ),
  }),
) as fc.Arbitrary<Misbehaviour>;

describe('whatever a client breaks on its side', () => {
  it('changes no origin’s health, no ejection and no session’s pin, and is logged as the client’s', async () => {
    await fc.assert(
      fc.asyncProperty(misbehaviours, async ({ method, make }) => {
        stubOrigins(readingOrigins());
        const worker = freshWorker();
        const opened = await worker.fetch('http://proxy.test/');
        const cookie = affinityCookie(opened)!;
        const pinned = opened.headers.get('x-served-by')!;
        const log = vi.spyOn(console, 'log').mockImplementation(() => {});
        const init = make();
        const broken = await worker.fetch(asSent(method, { ...init, headers: { ...init.headers, cookie } }));
        const [line] = decisionLines(log);
        log.mockRestore();
        expect([400, 408]).toContain(broken.status);
        expect(broken.headers.getSetCookie()).toEqual([]);
        expect(line).toMatchObject({ origin: null, clientFailure: expect.any(String) });
        expect(line?.failures, 'no origin failure recorded').toBeUndefined();
        for (const { id } of ORIGINS) expect(worker.isolate.availability(id, Date.now()), id).toBe('up');
        expect(worker.monitor.reports).toEqual([]);
        const after = await worker.fetch('http://proxy.test/', { headers: { cookie } });
        expect(after.headers.get('x-served-by')).toBe(pinned);
        expect(affinityCookie(after)).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  }, 60_000);
});
