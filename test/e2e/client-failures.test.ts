/**
 * What clients break, in the Workers runtime itself: the bundled worker under Miniflare, reached over
 * a raw socket (no proxy in front that would tidy the request up), in front of real origins. Nothing a
 * client does may mark an origin unhealthy, eject it or move a session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client';
import { EchoOrigin, type Echo } from './support/echo-origin';
import { healthReport, untilProbed } from './support/health-watch';
import { rawRequest } from './support/raw-http';
import { WorkerUnderTest } from './support/worker-under-test';
import { until } from '../support/wait';

/** Sensitive on purpose: one failure report, or one failed probe, would turn an origin unhealthy. */
const HEALTH = { path: '/health', interval: 1, timeout: 1, rise: 1, fall: 1 };
const PROXY = { bodyTimeout: 0.5, uploadTimeout: 1.5 };

let origins: EchoOrigin[];
let worker: WorkerUnderTest;

beforeAll(async () => {
  origins = await Promise.all(['app-1', 'app-2', 'app-3', 'app-4'].map((id) => EchoOrigin.start(id)));
  worker = await WorkerUnderTest.start({
    config: { origins: origins.map((o) => ({ id: o.id, url: o.url })), health: HEALTH, proxy: PROXY },
  });
  await new Client(worker).echo('/'); // gives the health monitor its plan
});
afterAll(async () => {
  await worker?.dispose();
  await Promise.all(origins.map((o) => o.stop()));
});

/**
 * Every origin's health and since when, once all are healthy. With rise 1 an origin wrongly marked
 * down is healthy again after one probe, so it is the unchanged `since` that says nothing happened.
 */
async function standingOfEveryOrigin(): Promise<Record<string, string>> {
  return until('every origin healthy', async () => {
    const { origins: rows } = await healthReport(worker);
    const healthy = rows.length === origins.length && rows.every((o) => o.health === 'healthy');
    return healthy && Object.fromEntries(rows.map((o) => [o.id, `healthy since ${o.healthSince}`]));
  });
}

/** A session and the raw `Cookie` header line that carries its pin. */
async function session(): Promise<{ client: Client; origin: EchoOrigin; cookie: string }> {
  const client = new Client(worker);
  const { echo } = await client.echo('/');
  return { client, origin: origins.find((o) => o.id === echo.origin)!, cookie: `__affinity=${client.affinityToken}` };
}

function requestLines(since: number): Record<string, unknown>[] {
  return worker.logs
    .slice(since)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.event === 'request');
}

describe('GET and HEAD with a declared body, as ordinary clients send them', () => {
  it('forwards a GET with Content-Length: 0 as an ordinary GET', async () => {
    const { answer } = rawRequest(worker.url, 'GET /plain HTTP/1.1\r\nContent-Length: 0');
    const { status, body } = await answer;
    expect(status).toBe(200);
    const echo = JSON.parse(body) as Echo;
    expect([echo.method, echo.bodyLength, echo.headers['content-length']]).toEqual(['GET', 0, undefined]);
  });

  it('forwards a HEAD with an empty chunked body as an ordinary HEAD', async () => {
    const { answer } = rawRequest(worker.url, 'HEAD /plain HTTP/1.1\r\nTransfer-Encoding: chunked', '0\r\n\r\n');
    expect((await answer).head).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('refuses a GET with a body with 400, and no number of them costs any origin its health or a session its pin', async () => {
    const victim = await session();
    const standing = await standingOfEveryOrigin();
    const mark = worker.logs.length;
    const attacks = Array.from(
      { length: 6 },
      (_, i) =>
        rawRequest(
          worker.url,
          `GET / HTTP/1.1\r\nContent-Length: 5${i % 2 ? `\r\nCookie: ${victim.cookie}` : ''}`,
          'hello',
        ).answer,
    );
    for (const { status, body } of await Promise.all(attacks)) {
      expect(status).toBe(400);
      expect(body).toMatch(/GET or HEAD request with a body cannot be forwarded/);
    }
    expect(requestLines(mark).map((line) => line.clientFailure)).toEqual(Array(6).fill('body-not-allowed'));
    await untilProbed(origins, 2); // a whole probe round since, and any failure report long in
    expect(await standingOfEveryOrigin()).toEqual(standing);
    const next = await victim.client.echo('/');
    expect([next.echo.origin, next.affinitySetCookie]).toEqual([victim.origin.id, undefined]);
  });
});

describe('a client that fails while sending its body', () => {
  it('abandons an upload half way: the origin sees a cut request, and nobody’s standing changes', async () => {
    const victim = await session();
    const standing = await standingOfEveryOrigin();
    const mark = worker.logs.length;
    const upload = rawRequest(
      worker.url,
      `POST /upload HTTP/1.1\r\nContent-Length: 200000\r\nCookie: ${victim.cookie}`,
      'x'.repeat(100_000),
    );
    await until('the upload reaching the origin', () => victim.origin.arrived.some((r) => r.url === '/upload'));
    upload.abandon(); // half way: the origin is reading the body
    await expect.poll(() => victim.origin.cut.map((c) => c.url), { timeout: 5000 }).toEqual(['/upload']);
    expect(victim.origin.seen.map((r) => r.url)).not.toContain('/upload');
    await expect.poll(() => requestLines(mark).map((line) => line.clientFailure)).toEqual(['body-incomplete']);
    await untilProbed(origins, 2);
    expect(await standingOfEveryOrigin()).toEqual(standing);
    const next = await victim.client.echo('/');
    expect([next.echo.origin, next.affinitySetCookie]).toEqual([victim.origin.id, undefined]);
  });

  it('gets 408 when it stalls a body the worker buffers, within proxy.bodyTimeout, and no origin hears of it', async () => {
    const before = origins.map((o) => o.traffic().length);
    const started = Date.now();
    const stalled = rawRequest(worker.url, 'POST /form HTTP/1.1\r\nContent-Length: 100', 'x'.repeat(10));
    const { status, body } = await stalled.answer;
    const waited = Date.now() - started;
    expect(status).toBe(408);
    expect(body).toMatch(/did not arrive in time/);
    expect(waited).toBeGreaterThanOrEqual(PROXY.bodyTimeout * 1000);
    expect(waited).toBeLessThan(PROXY.bodyTimeout * 1000 + 400);
    expect(origins.map((o) => o.traffic().length)).toEqual(before);
  });
});

describe('a streamed upload (over 64 KiB)', () => {
  it('does not wait for an origin that never answers longer than proxy.uploadTimeout: 504', async () => {
    const started = Date.now();
    const upload = rawRequest(worker.url, 'POST /hang HTTP/1.1\r\nContent-Length: 100000', 'x'.repeat(100_000));
    const { status } = await upload.answer;
    const waited = Date.now() - started;
    expect(status).toBe(504);
    expect(waited).toBeGreaterThanOrEqual(PROXY.uploadTimeout * 1000);
    expect(waited).toBeLessThan(PROXY.uploadTimeout * 1000 + 400);
  });
});
