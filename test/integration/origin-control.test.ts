/**
 * `Affinity-Control`, inside workerd with simulated origins: what the client receives (never the
 * header), what happens to the session (release, repin, replay), what reaches the health monitor
 * (drain, ready, weight) and what is logged.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { affinityCookie, freshWorker, seedConfig, stubOrigins, testEnv, type OriginBehaviour } from './support';
import { sleep } from '../support/wait';
import { claimsOf } from '../support/affinity-claims';

const IDS = ['one', 'two', 'three', 'four'];
const ORIGINS = IDS.map((id) => ({ id, url: `http://${id}` }));
const hostOf = (request: Request) => new URL(request.url).hostname;
const SECRET = testEnv.AFFINITY_SECRET!;

/** Origins that answer with their name and the body they received; `control` says what each adds as its header. */
function origins(control: Record<string, string | ((request: Request) => string | undefined)> = {}) {
  const behaviour =
    (id: string): OriginBehaviour =>
    async (request) => {
      const body = await request.text();
      const headers = new Headers({ 'x-served-by': id });
      if (body.length < 1024) headers.set('x-body', body);
      const said = typeof control[id] === 'function' ? control[id](request) : control[id];
      if (said !== undefined) headers.set('affinity-control', said);
      return new Response(`${id} got ${body.length} bytes`, { headers });
    };
  return stubOrigins(Object.fromEntries(IDS.map((id) => [id, behaviour(id)])));
}

/** As `origins`, with those in `refusing` refusing every connection. */
function originsRefusing(refusing: string[], control: Record<string, string> = {}) {
  const answering =
    (id: string): OriginBehaviour =>
    () => {
      const headers = new Headers({ 'x-served-by': id });
      if (control[id] !== undefined) headers.set('affinity-control', control[id]);
      return new Response(id, { headers });
    };
  return stubOrigins(Object.fromEntries(IDS.map((id) => [id, refusing.includes(id) ? 'refuse' : answering(id)])));
}

beforeEach(() => seedConfig({ origins: ORIGINS, affinity: { decisionHeader: true } }));
afterEach(() => vi.restoreAllMocks());

/** Log lines of one kind, parsed. */
function logged(spy: { mock: { calls: unknown[][] } }, event: string) {
  return spy.mock.calls.map(([line]) => JSON.parse(String(line))).filter((l) => l.event === event);
}

async function openSession(worker: ReturnType<typeof freshWorker>) {
  const response = await worker.fetch('http://proxy.test/');
  return { cookie: affinityCookie(response)!, origin: response.headers.get('x-served-by')! };
}

const other = (origin: string, not: string[] = []) => IDS.find((id) => id !== origin && !not.includes(id))!;

describe('the header', () => {
  it('never reaches the client, whatever it says, and never makes an error', async () => {
    for (const said of ['release', 'repin=two', 'drain', 'weight=50%', 'nonsense, weight=900%', 'replay=nowhere']) {
      origins(Object.fromEntries(IDS.map((id) => [id, said])));
      const response = await freshWorker().fetch('http://proxy.test/');
      expect(response.status, said).toBe(200);
      expect(response.headers.has('affinity-control'), said).toBe(false);
    }
  });

  it('costs an answer without it nothing: no control in the decision, no log of it', async () => {
    origins();
    const worker = freshWorker();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const response = await worker.fetch('http://proxy.test/');
    expect(response.headers.get('x-affinity-decision')).not.toMatch(/control/);
    expect(logged(warn, 'control.ignored')).toEqual([]);
  });

  it('logs what it does not follow in one event per answer, each directive with why, never the query', async () => {
    const worker = freshWorker();
    const { cookie, origin } = await (origins(), openSession(worker));
    origins({ [origin]: 'drian, repin=nowhere, weight=150%, drain, ready' });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const response = await worker.fetch('http://proxy.test/cart?token=secret', { headers: { cookie } });
    expect(response.status).toBe(200);
    const events = logged(warn, 'control.ignored');
    expect(events).toEqual([
      {
        level: 'warn',
        event: 'control.ignored',
        origin,
        method: 'GET',
        path: '/cart',
        ignored: [
          { directive: 'repin=nowhere', reason: 'no origin "nowhere" in the configuration' },
          { directive: 'drian', reason: 'not a directive' },
          { directive: 'weight=150%', reason: 'weight takes a whole percentage from 0% to 100%' },
          { directive: 'ready', reason: 'conflicts with the earlier "drain"' },
        ],
      },
    ]);
    expect(JSON.stringify(warn.mock.calls)).not.toContain('secret');
    expect(response.headers.get('x-affinity-decision')).toBe(`pinned; origin=${origin}; cookie=valid; control="drain"`);
  });
});

describe('release', () => {
  it('ends the pin: the cookie is deleted with its own name and attributes, and no fresh one is issued', async () => {
    origins();
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    origins({ [origin]: 'release' });
    const response = await worker.fetch('https://proxy.test/logout', { headers: { cookie } });
    expect(response.headers.get('x-served-by')).toBe(origin);
    expect(response.headers.getSetCookie()).toEqual(['__affinity=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax']);
    expect(response.headers.get('cache-control')).toBe('private');
    expect(response.headers.get('x-affinity-decision')).toBe(
      `pinned; origin=${origin}; cookie=valid; control="release"`,
    );
    // A new session's first answer that releases gets no cookie to keep either.
    origins(Object.fromEntries(IDS.map((id) => [id, 'release'])));
    const fresh = await worker.fetch('http://proxy.test/logout');
    expect(fresh.headers.getSetCookie()).toEqual(['__affinity=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax']);
  });
});

describe('repin', () => {
  it('hands the session over: the cookie names the other origin, and the next request goes there', async () => {
    origins();
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    const to = other(origin);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    origins({ [origin]: `repin=${to}` });
    const handing = await worker.fetch('http://proxy.test/hand-over', { headers: { cookie } });
    expect(handing.headers.get('x-served-by')).toBe(origin); // this answer is the old origin's
    expect(handing.headers.get('x-affinity-decision')).toBe(
      `pinned; origin=${origin}; cookie=valid; control="repin=${to}"`,
    );
    const moved = affinityCookie(handing)!;
    const [before, after] = [await claimsOf(cookie, SECRET), await claimsOf(moved, SECRET)];
    expect(after.originId).toBe(to);
    expect(after.sessionId).toBe(before.sessionId); // the same session
    const seen = origins();
    const next = await worker.fetch('http://proxy.test/', { headers: { cookie: moved } });
    expect(seen.map(hostOf)).toEqual([to]);
    expect(next.headers.get('x-affinity-decision')).toBe(`pinned; origin=${to}; cookie=valid`);
    expect(logged(log, 'request')[0]).toMatchObject({ origin, control: [`repin=${to}`] });
    expect(logged(log, 'request')[0]).not.toHaveProperty('handedOverTo');
  });

  it('counts a hand-over as a session moved to the origin that takes it', async () => {
    origins();
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    const to = other(origin);
    origins({ [origin]: `repin=${to}` });
    await worker.fetch('http://proxy.test/', { headers: { cookie } });
    const moved = worker.monitor.traffic.flatMap((batch) => [batch.origins[to]?.moved.repin ?? 0]);
    expect(moved.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it.each([
    ['draining', { state: 'draining' }],
    ['disabled', { state: 'disabled' }],
  ])('keeps the session where it is when the origin named is %s, and says why', async (state, override) => {
    await seedConfig({ origins: ORIGINS.map((o, i) => (i === 3 ? { ...o, ...override } : o)) });
    origins();
    const worker = freshWorker();
    let session = await openSession(worker);
    while (session.origin === 'four') session = await openSession(worker);
    origins({ [session.origin]: 'repin=four' });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const response = await worker.fetch('http://proxy.test/', { headers: { cookie: session.cookie } });
    expect(affinityCookie(response)).toBeUndefined();
    expect(logged(warn, 'control.ignored')[0].ignored).toEqual([
      { directive: 'repin=four', reason: `origin "four" takes no sessions: it is ${state}` },
    ]);
  });

  it('refuses an origin whose connection failed in this very request: the session stays where it was answered', async () => {
    origins();
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    // The pinned origin refuses; whichever origin answers instead hands the session back to it.
    const seen = originsRefusing([origin], Object.fromEntries(IDS.map((id) => [id, `repin=${origin}`])));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const response = await worker.fetch('http://proxy.test/', { headers: { cookie } });
    const servedBy = response.headers.get('x-served-by')!;
    expect(seen.map(hostOf)).toEqual([origin, servedBy]);
    expect((await claimsOf(affinityCookie(response)!, SECRET)).originId).toBe(servedBy);
    expect(logged(warn, 'control.ignored')[0].ignored[0].directive).toBe(`repin=${origin}`);
  });

  it('refuses an origin the health monitor calls down', async () => {
    origins();
    const worker = freshWorker();
    worker.monitor.unhealthy = ['four'];
    let session = await openSession(worker);
    while (session.origin === 'four') session = await openSession(worker);
    origins({ [session.origin]: 'repin=four' });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const response = await worker.fetch('http://proxy.test/', { headers: { cookie: session.cookie } });
    expect(affinityCookie(response)).toBeUndefined();
    expect(logged(warn, 'control.ignored')[0].ignored[0].reason).toBe(
      'origin "four" takes no sessions: it is unhealthy',
    );
  });
});

describe('replay', () => {
  it('drops the answer and sends the same POST, body intact, to the origin named, which the session is pinned to', async () => {
    origins();
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    const to = other(origin);
    const seen = origins({ [origin]: `replay=${to}` });
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const body = 'item=42&quantity=3';
    const response = await worker.fetch('http://proxy.test/cart', { method: 'POST', body, headers: { cookie } });
    expect(await response.text()).toBe(`${to} got ${body.length} bytes`);
    expect(response.headers.get('x-body')).toBe(body);
    expect(seen.map((r) => [hostOf(r), r.method])).toEqual([
      [origin, 'POST'],
      [to, 'POST'],
    ]);
    expect((await claimsOf(affinityCookie(response)!, SECRET)).originId).toBe(to);
    expect(response.headers.get('x-affinity-decision')).toBe(
      `repinned; origin=${to}; reason=replay; cookie=valid; replayed-from=${origin}; control="replay=${to}"`,
    );
    expect(logged(log, 'request')).toEqual([
      expect.objectContaining({
        origin: to,
        decision: 'repinned',
        reason: 'replay',
        replayedFrom: origin,
        tried: 2,
        attempts: [],
      }),
    ]);
  });

  it('is followed once: a replayed request’s own replay is ignored and logged, and its answer served', async () => {
    origins();
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    const [to, further] = [other(origin), other(origin, [other(origin)])];
    const seen = origins({ [origin]: `replay=${to}`, [to]: `replay=${further}` });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const response = await worker.fetch('http://proxy.test/', { headers: { cookie } });
    expect(response.headers.get('x-served-by')).toBe(to);
    expect(seen.map(hostOf)).toEqual([origin, to]);
    expect(logged(warn, 'control.ignored')).toEqual([
      expect.objectContaining({
        origin: to,
        ignored: [{ directive: `replay=${further}`, reason: 'a replayed request is not replayed again' }],
      }),
    ]);
  });

  it('is not followed for a body that streamed through (over 64 KiB): the answer is served as it is', async () => {
    origins();
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    const seen = origins({ [origin]: `replay=${other(origin)}` });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const body = new TextEncoder().encode('x'.repeat(70 * 1024));
    const response = await worker.fetch('http://proxy.test/upload', {
      method: 'POST',
      body,
      headers: { cookie, 'content-length': String(body.length) },
    });
    expect(response.headers.get('x-served-by')).toBe(origin);
    expect(seen.map(hostOf)).toEqual([origin]);
    expect(logged(warn, 'control.ignored')[0].ignored[0].reason).toBe(
      'the request body streamed through and cannot be sent again',
    );
  });

  it('is not followed to an origin whose connection failed in this very request', async () => {
    origins();
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    const seen = originsRefusing([origin], Object.fromEntries(IDS.map((id) => [id, `replay=${origin}`])));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const response = await worker.fetch('http://proxy.test/', { headers: { cookie } });
    const servedBy = response.headers.get('x-served-by')!;
    expect(response.status).toBe(200);
    expect(seen.map(hostOf)).toEqual([origin, servedBy]);
    expect(logged(warn, 'control.ignored')[0].ignored[0].directive).toBe(`replay=${origin}`);
  });

  it('answers 502, not a strict pin’s 503, when the origin named refuses and failover is off', async () => {
    await seedConfig({ origins: ORIGINS, affinity: { decisionHeader: true, failover: 'none' } });
    origins();
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    const to = other(origin);
    const seen = originsRefusing([to], { [origin]: `replay=${to}` });
    const response = await worker.fetch('http://proxy.test/', { headers: { cookie } });
    expect(seen.map(hostOf)).toEqual([origin, to]);
    expect(response.status).toBe(502);
  });

  it('answers 504 when the replay timed out, and sends it no further: a request is re-sent once after an uncertain failure', async () => {
    await seedConfig({ origins: ORIGINS, affinity: { decisionHeader: true }, proxy: { timeout: 0.3 } });
    origins();
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    // The pinned origin refuses; the first to answer instead asks for a replay elsewhere, where every
    // origin accepts the request and never answers.
    let asked = false;
    const hangs = () => new Promise<Response>(() => {});
    const behaviour =
      (id: string): OriginBehaviour =>
      () => {
        if (asked) return hangs();
        asked = true;
        const to = IDS.find((other) => other !== id && other !== origin)!;
        return new Response(id, { headers: { 'affinity-control': `replay=${to}` } });
      };
    const seen = stubOrigins({ ...Object.fromEntries(IDS.map((id) => [id, behaviour(id)])), [origin]: 'refuse' });
    const response = await worker.fetch('http://proxy.test/', { headers: { cookie } });
    // The refused pin, the origin that asked for the replay, and the replay's target: the target's
    // timeout would be the second uncertain failure re-sent.
    expect(seen).toHaveLength(3);
    expect(response.status).toBe(504);
    expect(await response.text()).toMatch(/did not answer in time/);
  });

  it('moves on along the session’s own list when the origin named refuses the connection, never back', async () => {
    origins();
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    const to = other(origin);
    const seen = originsRefusing([to], { [origin]: `replay=${to}` });
    const response = await worker.fetch('http://proxy.test/', { headers: { cookie } });
    const servedBy = response.headers.get('x-served-by')!;
    expect(response.status).toBe(200);
    expect([origin, to]).not.toContain(servedBy);
    expect(seen.map(hostOf)).toEqual([origin, to, servedBy]);
    expect(response.headers.get('x-affinity-decision')).toMatch(`replayed-from=${origin}`);
  });
});

describe('drain, ready and weight', () => {
  it('reach the health monitor behind the response, coalesced, and only as news', async () => {
    origins();
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    origins({ [origin]: 'drain, weight=40%' });
    for (let i = 0; i < 5; i++) await worker.fetch('http://proxy.test/', { headers: { cookie } });
    await sleep(1_050); // a report would be due again
    await worker.fetch('http://proxy.test/', { headers: { cookie } });
    // The first report went out at once; the repeats are what the snapshot it answered with says: no news.
    expect(worker.monitor.controlReports).toEqual([
      [
        { originId: origin, drain: true, at: expect.any(Number) },
        { originId: origin, weightPercent: 40, at: expect.any(Number) },
      ],
    ]);
  });

  it('are dated when the answer arrived, not when the request started, so an origin’s later word wins', async () => {
    origins();
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    let answeredAt = 0;
    stubOrigins({
      [origin]: async () => {
        await sleep(300);
        answeredAt = Date.now();
        return new Response(origin, { headers: { 'affinity-control': 'drain' } });
      },
    });
    const startedAt = Date.now();
    await worker.fetch('http://proxy.test/', { headers: { cookie } });
    const [report] = worker.monitor.controlReports.flat();
    expect(answeredAt - startedAt).toBeGreaterThanOrEqual(300);
    expect(report).toEqual({ originId: origin, drain: true, at: expect.any(Number) });
    expect(report!.at).toBeGreaterThanOrEqual(answeredAt);
  });

  it('take an origin that drains itself out of new sessions in this isolate at once; its pinned sessions stay; ready undoes it', async () => {
    origins();
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    origins({ [origin]: 'drain' });
    await worker.fetch('http://proxy.test/', { headers: { cookie } });
    origins();
    const fresh = await Promise.all(Array.from({ length: 40 }, () => worker.fetch('http://proxy.test/new')));
    expect(fresh.map((r) => r.headers.get('x-served-by'))).not.toContain(origin);
    const kept = await worker.fetch('http://proxy.test/', { headers: { cookie } });
    expect(kept.headers.get('x-served-by')).toBe(origin);
    origins({ [origin]: 'ready' });
    await worker.fetch('http://proxy.test/', { headers: { cookie } });
    await sleep(1_050); // the next report is due a second after the last
    await worker.fetch('http://proxy.test/', { headers: { cookie } });
    origins();
    const after = await Promise.all(Array.from({ length: 40 }, () => worker.fetch('http://proxy.test/new')));
    expect(after.map((r) => r.headers.get('x-served-by'))).toContain(origin);
  });

  it('scale an origin’s share of new sessions: weight=0% takes it out, and its sessions stay', async () => {
    origins();
    const worker = freshWorker();
    const { cookie, origin } = await openSession(worker);
    origins({ [origin]: 'weight=0%' });
    await worker.fetch('http://proxy.test/', { headers: { cookie } });
    origins();
    const fresh = await Promise.all(Array.from({ length: 40 }, () => worker.fetch('http://proxy.test/new')));
    expect(fresh.map((r) => r.headers.get('x-served-by'))).not.toContain(origin);
    expect((await worker.fetch('http://proxy.test/', { headers: { cookie } })).headers.get('x-served-by')).toBe(origin);
  });
});

describe('load-aware placement (affinity.balanceFactor)', () => {
  const busy = { requestsPerSecond: 5, activeSessions: 50, concurrency: 30 };
  const calm = { requestsPerSecond: 5, activeSessions: 50, concurrency: 1 };
  const share = (responses: Response[], id: string) =>
    responses.filter((r) => r.headers.get('x-served-by') === id).length / responses.length;

  async function newSessions(worker: ReturnType<typeof freshWorker>, count: number) {
    return Promise.all(Array.from({ length: count }, () => worker.fetch('http://proxy.test/new')));
  }

  it('sends new sessions past an origin the fleet figures call loaded; a session pinned there stays', async () => {
    await seedConfig({ origins: ORIGINS, affinity: { balanceFactor: 1.25 } });
    origins();
    const worker = freshWorker();
    let pinned = await openSession(worker);
    while (pinned.origin !== 'one') pinned = await openSession(worker);
    worker.monitor.fleetLoad = { origins: { one: busy, two: calm, three: calm, four: calm } };
    const kept = await worker.fetch('http://proxy.test/', { headers: { cookie: pinned.cookie } });
    expect(kept.headers.get('x-served-by')).toBe('one'); // and its report brings the fleet figures back
    expect(share(await newSessions(worker, 80), 'one')).toBe(0);
    const still = await worker.fetch('http://proxy.test/', { headers: { cookie: pinned.cookie } });
    expect(still.headers.get('x-served-by')).toBe('one');
  });

  it('places by the hash alone without a balance factor, whatever the load', async () => {
    origins();
    const worker = freshWorker();
    worker.monitor.fleetLoad = { origins: { one: busy, two: calm, three: calm, four: calm } };
    await openSession(worker);
    expect(share(await newSessions(worker, 80), 'one')).toBeGreaterThan(0.1);
  });

  it('counts this isolate’s requests in flight: an origin holding many slow requests gets no new session meanwhile', async () => {
    await seedConfig({ origins: ORIGINS, affinity: { balanceFactor: 1.25 } });
    origins();
    const worker = freshWorker();
    let pinned = await openSession(worker);
    while (pinned.origin !== 'two') pinned = await openSession(worker);
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const answer =
      (id: string): OriginBehaviour =>
      async () => {
        if (id === 'two') await held;
        return new Response(id, { headers: { 'x-served-by': id } });
      };
    const seen = stubOrigins(Object.fromEntries(IDS.map((id) => [id, answer(id)])));
    const slow = Array.from({ length: 6 }, () =>
      worker.fetch('http://proxy.test/', { headers: { cookie: pinned.cookie } }),
    );
    await vi.waitFor(() => expect(seen.filter((r) => hostOf(r) === 'two')).toHaveLength(6));
    const fresh = await newSessions(worker, 60);
    expect(share(fresh, 'two')).toBe(0);
    release();
    expect((await Promise.all(slow)).map((r) => r.headers.get('x-served-by'))).toEqual(new Array(6).fill('two'));
    expect(share(await newSessions(worker, 80), 'two')).toBeGreaterThan(0.1); // answered: not loaded any more
  });
});
