/**
 * The failover rule inside workerd, with simulated origins that fail the way they do on Cloudflare:
 * an answer Cloudflare minted because it could not reach the origin (521, 522, 523, 525, 526, 530),
 * one after the origin took the request (520, 524), a connection that breaks (what workerd throws),
 * and no answer in time. Each simulated origin counts the requests its application ran, so that every
 * test can say how often a request was executed. End to end, with real origins: test/e2e/failover-rule.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { affinityCookie, freshWorker, seedConfig, stubOrigins, testEnv, type OriginBehaviour } from './support';
import { claimsOf } from '../support/affinity-claims';

const IDS = ['one', 'two', 'three', 'four'];
const ORIGINS = IDS.map((id) => ({ id, url: `http://${id}` }));
const hostOf = (request: Request) => new URL(request.url).hostname;

/** How a simulated origin answers, as a Worker on Cloudflare would see it. */
type Failing =
  | { cloudflare: number; body?: string } // Cloudflare's own answer: the application never ran
  | { after: 'cloudflare'; status: 520 | 524 } // the application ran, then Cloudflare answered instead
  | 'reset' // the application ran, then its connection broke
  | 'hang'; // the application took the request and never answers

class Origins {
  /** Requests each origin's application ran (what would run twice if replayed). */
  readonly executed = new Map<string, string[]>();
  readonly failing = new Map<string, Failing>();

  stub(): Request[] {
    return stubOrigins(Object.fromEntries(IDS.map((id) => [id, this.#behaviour(id)])));
  }

  executions(method?: string): number {
    return [...this.executed.values()].flat().filter((m) => method === undefined || m === method).length;
  }

  #behaviour(id: string): OriginBehaviour {
    return async (request) => {
      const failing = this.failing.get(id);
      if (failing && typeof failing === 'object' && 'cloudflare' in failing) {
        const body = failing.body ?? `error code: ${failing.cloudflare}`;
        return new Response(body, { status: failing.cloudflare, headers: { server: 'cloudflare' } });
      }
      await request.arrayBuffer();
      this.executed.set(id, [...(this.executed.get(id) ?? []), request.method]);
      if (failing === 'reset') throw new Error('Network connection lost.');
      if (failing === 'hang') return new Promise<Response>(() => {});
      if (failing) return new Response(`error code: ${failing.status}`, { status: failing.status });
      if (request.headers.get('x-answer') === '409') return new Response('in progress', { status: 409 });
      return new Response(`${id} ran ${request.method}`, { headers: { 'x-served-by': id } });
    };
  }
}

let origins: Origins;
beforeEach(async () => {
  origins = new Origins();
  await seedConfig({ origins: ORIGINS, affinity: { decisionLog: 'all' }, proxy: { timeout: 0.2 } });
});
afterEach(() => vi.restoreAllMocks());

async function openSession(worker = freshWorker()) {
  origins.stub();
  const response = await worker.fetch('http://proxy.test/');
  origins.executed.clear();
  return { cookie: affinityCookie(response)!, origin: response.headers.get('x-served-by')! };
}

function logLines() {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  return () =>
    [...log.mock.calls, ...warn.mock.calls]
      .map(([line]) => JSON.parse(String(line)))
      .filter((line) => line.event === 'request');
}

/** The origin a response's fresh affinity cookie pins the session to; undefined when it sets none. */
async function pinnedTo(response: Response): Promise<string | undefined> {
  const cookie = affinityCookie(response);
  return cookie === undefined ? undefined : (await claimsOf(cookie, testEnv.AFFINITY_SECRET!)).originId;
}

describe('an answer Cloudflare minted because it could not reach the origin (not reached)', () => {
  const NOT_REACHED = [
    { cloudflare: 521 },
    { cloudflare: 522 },
    { cloudflare: 523 },
    { cloudflare: 525 },
    { cloudflare: 526 },
    { cloudflare: 530, body: 'error code: 1016' },
    { cloudflare: 530, body: 'error code: 1033' },
  ];

  it.each(NOT_REACHED)(
    'sends a POST on to the next origin, where it runs once ($cloudflare, $body)',
    async (answer) => {
      const { cookie, origin } = await openSession();
      origins.failing.set(origin, answer);
      const seen = origins.stub();
      const lines = logLines();
      const worker = freshWorker();
      const response = await worker.fetch('http://proxy.test/order', {
        method: 'POST',
        body: 'one espresso',
        headers: { cookie },
      });
      const servedBy = response.headers.get('x-served-by')!;
      expect(response.status, 'the client never sees Cloudflare’s page').toBe(200);
      expect(await response.text()).toBe(`${servedBy} ran POST`);
      expect(seen.map(hostOf)).toEqual([origin, servedBy]);
      expect(origins.executions('POST')).toBe(1);
      expect(await pinnedTo(response)).toBe(servedBy);
      expect(lines()).toEqual([
        expect.objectContaining({
          decision: 'repinned',
          reason: `cf-${answer.cloudflare}`,
          attempts: [{ origin, kind: 'not-reached', reason: `cf-${answer.cloudflare}`, status: answer.cloudflare }],
        }),
      ]);
      expect(
        worker.monitor.reports.flat().map((r) => r.originId),
        'reported as a failure of that origin',
      ).toEqual([origin]);
    },
  );

  it('moves a streamed upload’s session even though the upload cannot be sent again: 502, pin moved', async () => {
    const { cookie, origin } = await openSession();
    origins.failing.set(origin, { cloudflare: 522 });
    const seen = origins.stub();
    const body = new Uint8Array(70 * 1024);
    const response = await freshWorker().fetch('http://proxy.test/upload', {
      method: 'POST',
      body,
      headers: { cookie, 'content-length': String(body.length) },
    });
    expect(response.status).toBe(502);
    expect(await response.text()).toMatch(/cannot be replayed/);
    expect(seen.map(hostOf)).toEqual([origin]);
    const moved = await pinnedTo(response);
    expect(moved, 'the client’s retry goes to the next origin').toBeDefined();
    expect(moved).not.toBe(origin);
  });

  it('keeps a strict pin on its origin: 503, and no other origin tried', async () => {
    await seedConfig({ origins: ORIGINS, affinity: { failover: 'none' } });
    const { cookie, origin } = await openSession();
    origins.failing.set(origin, { cloudflare: 521 });
    const seen = origins.stub();
    const response = await freshWorker().fetch('http://proxy.test/', { headers: { cookie } });
    expect(response.status).toBe(503);
    expect(seen.map(hostOf)).toEqual([origin]);
    expect(await pinnedTo(response)).toBeUndefined();
  });
});

describe('an attempt that may have reached the origin', () => {
  const BROKEN: { name: string; failing: Failing; status: number; moves: boolean; reported: boolean }[] = [
    {
      name: 'a connection reset after the request was read',
      failing: 'reset',
      status: 502,
      moves: true,
      reported: true,
    },
    {
      name: 'Cloudflare’s 520',
      failing: { after: 'cloudflare', status: 520 },
      status: 502,
      moves: true,
      reported: true,
    },
    {
      name: 'Cloudflare’s 524',
      failing: { after: 'cloudflare', status: 524 },
      status: 504,
      moves: false,
      reported: false,
    },
    { name: 'no answer in time', failing: 'hang', status: 504, moves: false, reported: false },
  ];

  it.each(BROKEN)('runs a POST once: $status after $name', async ({ failing, status, moves, reported }) => {
    const { cookie, origin } = await openSession();
    origins.failing.set(origin, failing);
    const seen = origins.stub();
    const lines = logLines();
    const worker = freshWorker();
    const response = await worker.fetch('http://proxy.test/order', {
      method: 'POST',
      body: 'one espresso',
      headers: { cookie },
    });
    expect(response.status).toBe(status);
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await response.text()).toMatch(status === 504 ? /did not answer in time/ : /not idempotent/);
    expect(seen.map(hostOf)).toEqual([origin]);
    expect(origins.executions('POST')).toBe(1);
    const [line] = lines();
    expect(line.attempts).toEqual([expect.objectContaining({ origin, kind: 'may-have-reached' })]);
    expect(line.stopped).toBe('not-idempotent');
    if (moves) {
      expect(await pinnedTo(response), 'the connection broke: the session moves for the retry').not.toBe(origin);
      expect(await pinnedTo(response)).toBeDefined();
    } else {
      expect(await pinnedTo(response), 'the origin is slow, not gone: the pin stays').toBeUndefined();
    }
    expect(worker.monitor.reports.flat().map((r) => r.originId)).toEqual(reported ? [origin] : []);
  });

  it.each(BROKEN)('sends a GET on to the next origin after $name', async ({ failing }) => {
    const { cookie, origin } = await openSession();
    origins.failing.set(origin, failing);
    const seen = origins.stub();
    const response = await freshWorker().fetch('http://proxy.test/', { headers: { cookie } });
    const servedBy = response.headers.get('x-served-by')!;
    expect(response.status).toBe(200);
    expect(seen.map(hostOf)).toEqual([origin, servedBy]);
    expect(await pinnedTo(response)).toBe(servedBy);
  });

  it.each(['PUT', 'DELETE', 'OPTIONS'])('sends an idempotent %s on after a broken connection', async (method) => {
    const { cookie, origin } = await openSession();
    origins.failing.set(origin, 'reset');
    origins.stub();
    const response = await freshWorker().fetch('http://proxy.test/cart/line/1', {
      method,
      body: method === 'PUT' ? '2' : undefined,
      headers: { cookie },
    });
    expect(response.status).toBe(200);
    expect(origins.executions(method)).toBe(2);
  });

  describe('with proxy.replay', () => {
    const keyed = { 'idempotency-key': '"7c1f3e8a-order-42"' };

    it('"safe" (the default) does not send a keyed POST on: a key means nothing to an origin that never saw it', async () => {
      const { cookie, origin } = await openSession();
      origins.failing.set(origin, 'reset');
      origins.stub();
      const response = await freshWorker().fetch('http://proxy.test/order', {
        method: 'POST',
        body: 'x',
        headers: { cookie, ...keyed },
      });
      expect(response.status).toBe(502);
      expect(origins.executions('POST')).toBe(1);
    });

    it('"keyed" sends a keyed POST on, and an unkeyed one not', async () => {
      await seedConfig({ origins: ORIGINS, proxy: { timeout: 0.2, replay: 'keyed' } });
      const { cookie, origin } = await openSession();
      origins.failing.set(origin, 'reset');
      const seen = origins.stub();
      const withKey = await freshWorker().fetch('http://proxy.test/order', {
        method: 'POST',
        body: 'x',
        headers: { cookie, ...keyed },
      });
      expect(withKey.status).toBe(200);
      expect(seen.map(hostOf)).toEqual([origin, withKey.headers.get('x-served-by')]);
      expect(seen[1]!.headers.get('idempotency-key'), 'the key goes with it').toBe(keyed['idempotency-key']);
      const withoutKey = await freshWorker().fetch('http://proxy.test/order', {
        method: 'POST',
        body: 'x',
        headers: { cookie },
      });
      expect(withoutKey.status).toBe(502);
      expect(origins.executions('POST')).toBe(3);
    });

    it('"keyed" passes an origin’s 409 (the keyed request is still in progress) to the client, never moving on', async () => {
      await seedConfig({ origins: ORIGINS, proxy: { replay: 'keyed' } });
      const { cookie, origin } = await openSession();
      const seen = origins.stub();
      const response = await freshWorker().fetch('http://proxy.test/order', {
        method: 'POST',
        body: 'x',
        headers: { cookie, ...keyed, 'x-answer': '409' },
      });
      expect(response.status).toBe(409);
      expect(seen.map(hostOf)).toEqual([origin]);
    });

    it('"always" sends any method on, the operator accepting that it may run twice', async () => {
      await seedConfig({ origins: ORIGINS, proxy: { timeout: 0.2, replay: 'always' } });
      const { cookie, origin } = await openSession();
      origins.failing.set(origin, 'reset');
      origins.stub();
      const response = await freshWorker().fetch('http://proxy.test/order', {
        method: 'POST',
        body: 'x',
        headers: { cookie },
      });
      expect(response.status).toBe(200);
      expect(origins.executions('POST')).toBe(2);
    });
  });
});

describe('a request that breaks every origin it reaches (a query of death)', () => {
  it('runs on two origins at most, ejects only the first, and leaves every other session where it was', async () => {
    const worker = freshWorker();
    const sessions = await Promise.all(Array.from({ length: 24 }, () => openSession(worker)));
    const victim = sessions[0]!;
    // Every origin's application crashes on this one request, and answers everything else.
    const crashing: OriginBehaviour = async (request) => {
      const host = hostOf(request);
      origins.executed.set(host, [...(origins.executed.get(host) ?? []), request.method]);
      if (request.url.endsWith('/poison')) throw new Error('Network connection lost.');
      return new Response(host, { headers: { 'x-served-by': host } });
    };
    const seen = stubOrigins(Object.fromEntries(IDS.map((id) => [id, crashing])));
    const response = await worker.fetch('http://proxy.test/poison', { headers: { cookie: victim.cookie } });
    expect(response.status).toBe(502);
    expect(seen.map(hostOf)).toHaveLength(2);
    await worker.fetch('http://proxy.test/warm-up'); // its upkeep sends the passive report
    expect(worker.monitor.reports.flat().map((r) => r.originId)).toEqual([victim.origin]);
    const second = hostOf(seen[1]!);
    for (const session of sessions.slice(1).filter((s) => s.origin === second)) {
      const again = await worker.fetch('http://proxy.test/', { headers: { cookie: session.cookie } });
      expect(again.headers.get('x-served-by'), 'the second origin is not ejected').toBe(second);
    }
  });
});

describe('the retry budget', () => {
  async function slowPosts(worker: ReturnType<typeof freshWorker>, count: number) {
    const sessions = await Promise.all(Array.from({ length: count }, () => openSession(worker)));
    for (const id of IDS) origins.failing.set(id, 'hang');
    origins.stub();
    const lines = logLines();
    const responses = await Promise.all(
      sessions.map(({ cookie }) =>
        worker.fetch('http://proxy.test/order', { method: 'POST', body: 'x', headers: { cookie } }),
      ),
    );
    return { statuses: responses.map((r) => r.status), lines: lines() };
  }

  it('re-sends a request at most once after an attempt that may have reached its origin, whatever the policy', async () => {
    await seedConfig({ origins: ORIGINS, proxy: { timeout: 0.2, replay: 'always' } });
    const { statuses, lines } = await slowPosts(freshWorker(), 5);
    expect(statuses).toEqual([504, 504, 504, 504, 504]);
    // Five slow POSTs: ten executions at most, never fifteen.
    expect(origins.executions('POST')).toBe(10);
    expect(lines.map((line) => line.stopped)).toEqual(Array(5).fill('resent-once'));
  });

  it('re-sends no more than its budget allows, and says so', async () => {
    await seedConfig({ origins: ORIGINS, proxy: { timeout: 0.2, replay: 'always' } });
    // A reserve of one resend over the window, and a fifth of its ten requests (five that opened the
    // sessions, five POSTs): 1 + 10 × 0.2 = 3.
    const worker = freshWorker({}, { retryBudget: { minPerSecond: 0.1, windowSeconds: 10 } });
    const { statuses, lines } = await slowPosts(worker, 5);
    expect(statuses).toEqual([504, 504, 504, 504, 504]);
    expect(origins.executions('POST')).toBe(5 + 3);
    expect(lines.filter((line) => line.stopped === 'budget')).toHaveLength(2);
  });
});
