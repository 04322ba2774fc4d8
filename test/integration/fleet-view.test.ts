/**
 * The fleet view through the admin API, with the real fleet aggregator (an object of the health
 * monitor's class) merging the reports of several isolates, which reach it through their location
 * object: metrics, one origin's figures and drain state, one origin's change, the status report's
 * live figures.
 */
import { runDurableObjectAlarm } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { etagOf } from '../../worker/admin/config-commit';
import { parsePrometheus, sampleValue } from '../support/prometheus-parser';
import {
  affinityCookie,
  answersWith,
  emptyHealthMonitors,
  forwardLocations,
  freshWorker,
  seedConfig,
  stubOrigins,
  testEnv,
} from './support';
import { sleep } from '../support/wait';

const TOKEN = 'integration-admin-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const ORIGINS = ['one', 'two', 'three'].map((id) => ({ id, url: `http://${id}` }));
const HTTP = 'http://proxy.test';

/** An isolate of the deployment: its own memory, the real health monitor and fleet aggregator. */
const isolate = () => freshWorker({ HEALTH_MONITOR: testEnv.HEALTH_MONITOR });
type Worker = ReturnType<typeof isolate>;

async function browse(worker: Worker, cookie?: string): Promise<{ cookie: string; servedBy: string }> {
  const response = await worker.fetch(`${HTTP}/`, { headers: cookie ? { cookie } : {} });
  expect(response.status).toBe(200);
  await response.arrayBuffer(); // as a client does: a draining origin's request ends with its body
  return { cookie: affinityCookie(response) ?? cookie!, servedBy: response.headers.get('x-served-by')! };
}

/**
 * `count` users' first visits, keyed by a header (`affinity.key: "header:x-user"`) so that the session
 * keys, and the sketch registers they fall into, are the same on every run: exact distinct counts can
 * be asserted without the chance that two random session ids share a register.
 */
async function firstVisits(worker: Worker, count: number) {
  await seedConfig({ origins: ORIGINS, health: { interval: 3600 }, affinity: { key: 'header:x-user' } });
  return Promise.all(
    Array.from({ length: count }, async (_, user) => {
      const response = await worker.fetch(`${HTTP}/`, { headers: { 'x-user': `user-${user}` } });
      expect(response.status).toBe(200);
      return { servedBy: response.headers.get('x-served-by')! };
    }),
  );
}

/**
 * Forwards what the location object holds, then runs the fleet aggregator's alarm, which stores its
 * totals: the metrics export stored totals only.
 */
async function storeFleetTotals(): Promise<void> {
  await forwardLocations();
  expect(await runDurableObjectAlarm(testEnv.HEALTH_MONITOR.getByName('fleet'))).toBe(true);
}

async function metricsOf(worker: Worker) {
  const response = await worker.fetch(`${HTTP}/_affinity/metrics`, { headers: auth });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheus(await response.text());
}

const originOf = (worker: Worker, id: string, query = '') =>
  worker.fetch(`${HTTP}/_affinity/origins/${id}${query}`, { headers: auth });

const patch = (worker: Worker, id: string, body: unknown, headers: Record<string, string> = {}) =>
  worker.fetch(`${HTTP}/_affinity/origins/${id}`, {
    method: 'PATCH',
    headers: { ...auth, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

beforeEach(async () => {
  await seedConfig({ origins: ORIGINS, health: { interval: 3600 } });
  stubOrigins(Object.fromEntries(ORIGINS.map((o) => [o.id, answersWith(o.id)])));
});

afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await emptyHealthMonitors();
});

describe('counting across isolates', () => {
  it('adds up the requests of every isolate and counts a session that two isolates served once', async () => {
    const [first, second] = [isolate(), isolate()];
    const sessions = await Promise.all(Array.from({ length: 12 }, () => browse(first)));
    for (const { cookie } of sessions) await browse(first, cookie);
    for (const { cookie } of sessions.slice(0, 6)) await browse(second, cookie); // the same sessions, elsewhere
    await storeFleetTotals();
    const families = await metricsOf(second);
    const total = (name: string) => ORIGINS.reduce((sum, o) => sum + sampleValue(families, name, { origin: o.id }), 0);
    expect(total('edge_affinity_origin_requests_total')).toBe(30);
    expect(total('edge_affinity_origin_new_sessions_total')).toBe(12);
    // 12 distinct sessions, not 18: merged, not summed. The sketch may count two random session ids
    // as one when they fall into one register (about 6% of runs at 12 sessions and 1,024 registers).
    const distinct = { min: 11, max: 12 };
    expect(total('edge_affinity_origin_current_sessions')).toBeGreaterThanOrEqual(distinct.min);
    expect(total('edge_affinity_origin_current_sessions')).toBeLessThanOrEqual(distinct.max);
    expect(sampleValue(families, 'edge_affinity_current_sessions')).toBeGreaterThanOrEqual(distinct.min);
    expect(sampleValue(families, 'edge_affinity_current_sessions')).toBeLessThanOrEqual(distinct.max);
    const perOrigin = Object.groupBy(sessions, (s) => s.servedBy);
    for (const o of ORIGINS) {
      const sessionsThere = perOrigin[o.id]?.length ?? 0;
      const requestsThere = sessionsThere * 2 + sessions.slice(0, 6).filter((s) => s.servedBy === o.id).length;
      expect(sampleValue(families, 'edge_affinity_origin_requests_total', { origin: o.id }), o.id).toBe(requestsThere);
    }
    expect(sampleValue(families, 'edge_affinity_fleet_aggregator_up')).toBe(1);
    expect(sampleValue(families, 'edge_affinity_config_kv_status', { state: 'ok' })).toBe(1);
  });

  it('counts failures at the origin that failed and the move at the origin that took the session', async () => {
    const cookies = await cookiesPinnedTo('one', 3);
    stubOrigins({ one: 'refuse', two: answersWith('two'), three: answersWith('three') });
    const worker = isolate();
    for (const cookie of cookies) expect((await browse(worker, cookie)).servedBy).not.toBe('one');
    await storeFleetTotals();
    const families = await metricsOf(worker);
    // The first request fails to connect; the isolate then skips the origin without trying it.
    expect(
      sampleValue(families, 'edge_affinity_origin_failures_total', { origin: 'one', kind: 'connect-failed' }),
    ).toBe(1);
    expect(sampleValue(families, 'edge_affinity_origin_requests_total', { origin: 'one' })).toBe(0);
    const moves = ['two', 'three'].reduce(
      (sum, id) =>
        sum +
        sampleValue(families, 'edge_affinity_origin_moved_sessions_total', { origin: id, reason: 'connect-failed' }),
      0,
    );
    expect(moves).toBe(3);
  });
});

/** Cookies of `count` sessions pinned to `id`, minted by an isolate with a fake monitor (nothing counted here). */
async function cookiesPinnedTo(id: string, count: number): Promise<string[]> {
  const minting = freshWorker();
  const cookies: string[] = [];
  for (let i = 0; i < 200 && cookies.length < count; i++) {
    const response = await minting.fetch(`${HTTP}/`);
    if (response.headers.get('x-served-by') === id) cookies.push(affinityCookie(response)!);
  }
  if (cookies.length < count) throw new Error(`not enough sessions landed on ${id}`);
  return cookies;
}

describe('GET /_affinity/metrics', () => {
  it('takes the bearer token only: the admin session that opens the status page does not open it', async () => {
    const worker = isolate();
    const signIn = await worker.fetch(`${HTTP}/_affinity/session`, {
      method: 'POST',
      headers: { ...NAVIGATION, origin: HTTP, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    const session = signIn.headers.getSetCookie()[0]!.split(';')[0]!;
    const page = await worker.fetch(`${HTTP}/_affinity/status`, { headers: { ...NAVIGATION, cookie: session } });
    expect(page.status).toBe(200);
    const metrics = await worker.fetch(`${HTTP}/_affinity/metrics`, { headers: { ...NAVIGATION, cookie: session } });
    expect(metrics.status).toBe(401);
    expect((await worker.fetch(`${HTTP}/_affinity/metrics`)).status).toBe(401);
    expect(
      (await worker.fetch(`${HTTP}/_affinity/metrics`, { headers: { authorization: 'Bearer nope' } })).status,
    ).toBe(401);
  });
});

describe('GET /_affinity/origins/<id>', () => {
  it('answers the origin’s configuration, health and live figures', async () => {
    const worker = isolate();
    const sessions = await firstVisits(worker, 9);
    await forwardLocations(); // the first report went at once, those that came with it wait for the alarm
    const id = sessions[0]!.servedBy;
    const response = await originOf(worker, id);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      id,
      url: `http://${id}`,
      state: 'active',
      weight: 1,
      health: expect.any(String),
      activeSessions: sessions.filter((s) => s.servedBy === id).length,
      lastRequestAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      drained: null,
      idle: 300,
      live: expect.objectContaining({ requestsPerSecond: expect.any(Number), moves: 0 }),
      fleet: expect.objectContaining({ aggregator: 'ok' }),
    });
    expect(Date.now() - Date.parse(body.lastRequestAt as string)).toBeLessThan(5_000);
  });

  it('answers 404 for an origin that is not configured, and 400 for an idle time that is not whole seconds', async () => {
    const worker = isolate();
    expect((await originOf(worker, 'nope')).status).toBe(404);
    for (const idle of ['abc', '-5', '1.5', '100000000']) {
      const response = await originOf(worker, 'one', `?idle=${idle}`);
      expect(response.status, idle).toBe(400);
      expect(await response.json()).toMatchObject({ problems: [{ path: 'idle' }] });
    }
  });

  it('says a draining origin is drained only once none of its sessions made a request for ?idle= seconds beyond the reports’ lag', async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    const worker = isolate();
    const [cookie] = await cookiesPinnedTo('two', 1);
    await browse(worker, cookie);
    expect((await patch(worker, 'two', { state: 'draining' })).status).toBe(200);
    const body = (await (await originOf(worker, 'two')).json()) as { drainingSince: string };
    expect(Date.now() - Date.parse(body.drainingSince)).toBeLessThan(1_000);
    expect(await drained(worker)).toBe(false); // the default 300 s
    vi.advanceTimersByTime(3_900); // 1 s idle, and the 3 s a report may take through its location: not yet
    expect(await drained(worker, 1)).toBe(false);
    vi.advanceTimersByTime(200);
    expect(await drained(worker, 1)).toBe(true);
    // A longer idle time also waits for the reports of requests made before the drain (10 s batches,
    // forwarded by the location object within 10 s more).
    expect(await drained(worker, 5)).toBe(false);
    expect((await browse(worker, cookie)).servedBy).toBe('two'); // draining keeps its pinned sessions
    expect(await drained(worker, 1)).toBe(false);
    vi.advanceTimersByTime(3_900); // 1 s of silence, but within the 3 s a draining origin's reports may take
    expect(await drained(worker, 1)).toBe(false);
    vi.advanceTimersByTime(200);
    expect(await drained(worker, 1)).toBe(true);
  });
});

describe('a request to a draining origin that takes its time', () => {
  /** Real time for the isolate's marks of an open request to fire, while Date stays where the test put it. */
  const marksFire = () => sleep(300);

  /** A stream the test feeds and ends. */
  function heldStream() {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    return { stream, end: () => (controller.enqueue(new TextEncoder().encode('x')), controller.close()) };
  }

  it('keeps it from being drained while its upload is sent, and counts the request when it ends', async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    const worker = isolate();
    const [cookie] = await cookiesPinnedTo('two', 1);
    await browse(worker, cookie);
    expect((await patch(worker, 'two', { state: 'draining' })).status).toBe(200);
    vi.advanceTimersByTime(4_100);
    expect(await drained(worker, 1)).toBe(true);
    stubOrigins({ two: async (request) => new Response(await request.text(), { headers: { 'x-served-by': 'two' } }) });
    const upload = heldStream();
    const answer = worker.respond(`${HTTP}/upload`, {
      method: 'PUT',
      headers: { cookie },
      body: upload.stream,
      duplex: 'half',
    } as RequestInit);
    for (let second = 0; second < 14; second++) {
      vi.advanceTimersByTime(1_000);
      await marksFire();
      expect(await drained(worker, 1), `upload at ${second + 1} s`).toBe(false);
    }
    upload.end();
    const { response, behind } = await answer;
    expect(await response.text()).toBe('x');
    await behind;
    await marksFire();
    vi.advanceTimersByTime(3_900); // 1 s idle after it ended, and the 3 s a report may take through its location: not yet
    expect(await drained(worker, 1)).toBe(false);
    vi.advanceTimersByTime(200);
    expect(await drained(worker, 1)).toBe(true);
  });

  it('keeps it from being drained while its response streams to the client', async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    const worker = isolate();
    const [cookie] = await cookiesPinnedTo('two', 1);
    await browse(worker, cookie);
    expect((await patch(worker, 'two', { state: 'draining' })).status).toBe(200);
    const download = heldStream();
    stubOrigins({ two: () => new Response(download.stream, { headers: { 'x-served-by': 'two' } }) });
    const { response } = await worker.respond(`${HTTP}/download`, { headers: { cookie: cookie! } });
    expect(response.headers.get('x-served-by')).toBe('two');
    for (let second = 0; second < 10; second++) {
      vi.advanceTimersByTime(1_000);
      await marksFire();
      expect(await drained(worker, 1), `download at ${second + 1} s`).toBe(false);
    }
    download.end();
    expect(await response.text()).toBe('x');
    await marksFire();
    vi.advanceTimersByTime(4_100);
    expect(await drained(worker, 1)).toBe(true);
  });
});

describe('a drain with counting off (AFFINITY_COUNTING = "off")', () => {
  it('is never called drained: drained is null and says why, while a pinned client keeps making requests or not', async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    const worker = freshWorker({ HEALTH_MONITOR: testEnv.HEALTH_MONITOR, AFFINITY_COUNTING: 'off' });
    const [cookie] = await cookiesPinnedTo('two', 1);
    await browse(worker, cookie);
    expect((await patch(worker, 'two', { state: 'draining' })).status).toBe(200);
    for (let i = 0; i < 4; i++) {
      expect((await browse(worker, cookie)).servedBy).toBe('two');
      vi.advanceTimersByTime(500);
      const body = (await (await originOf(worker, 'two', '?idle=0')).json()) as Record<string, unknown>;
      expect(body.drained).toBeNull();
      expect(body.drainedUnknown).toMatch(/AFFINITY_COUNTING/);
    }
    vi.advanceTimersByTime(600_000);
    expect(await drained(worker, 1)).toBeNull();
  });
});

describe('an origin that steers itself (Affinity-Control), through the admin API', () => {
  const saying = (words: Record<string, string>) =>
    stubOrigins(
      Object.fromEntries(
        ORIGINS.map((o) => [
          o.id,
          () =>
            new Response(o.id, {
              headers: { 'x-served-by': o.id, ...(words[o.id] ? { 'affinity-control': words[o.id] } : {}) },
            }),
        ]),
      ),
    );

  it('is shown draining and weighed by its own word, said by the origin and since when, in the status, the metrics and its own page', async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    const worker = isolate();
    const [cookie] = await cookiesPinnedTo('two', 1);
    await browse(worker, cookie); // the coordinator adopts the configuration in KV
    saying({ two: 'drain, weight=50%' });
    const saidAt = Date.now();
    expect((await browse(worker, cookie)).servedBy).toBe('two');
    const one = (await (await originOf(worker, 'two', '?idle=1')).json()) as Record<string, unknown>;
    expect(one).toMatchObject({
      state: 'draining',
      stateSetBy: 'origin',
      weight: 0.5,
      weightSetBy: 'origin',
      configured: { state: 'active', weight: 1 },
      control: { draining: true, weightPercent: 50 },
      drained: false,
    });
    expect(Date.parse(one.drainingSince as string)).toBe(saidAt);
    const families = await metricsOf(worker);
    expect(sampleValue(families, 'edge_affinity_origin_status', { origin: 'two', state: 'draining' })).toBe(1);
    expect(sampleValue(families, 'edge_affinity_origin_control_draining', { origin: 'two' })).toBe(1);
    expect(sampleValue(families, 'edge_affinity_origin_effective_weight', { origin: 'two' })).toBe(0.5);
    const status = (await (await worker.fetch(`${HTTP}/_affinity/status`, { headers: auth })).json()) as {
      origins: { id: string; state: string; stateSetBy: string }[];
    };
    expect(status.origins.find((o) => o.id === 'two')).toMatchObject({ state: 'draining', stateSetBy: 'origin' });
    // Drained is judged from when the origin said it, like an operator's drain from when it was adopted.
    vi.advanceTimersByTime(12_100);
    expect(await drained(worker, 1)).toBe(true);
  });

  it('goes back to the operator’s state when the origin says ready, and gives way to the operator’s change', async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    const worker = isolate();
    const [cookie] = await cookiesPinnedTo('two', 1);
    await browse(worker, cookie);
    saying({ two: 'drain' });
    await browse(worker, cookie);
    vi.advanceTimersByTime(1_100); // one report per second at most
    saying({ two: 'ready' });
    await browse(worker, cookie);
    expect(await (await originOf(worker, 'two')).json()).toMatchObject({
      state: 'active',
      stateSetBy: 'operator',
      control: null,
    });
    vi.advanceTimersByTime(1_100);
    saying({ two: 'drain' });
    await browse(worker, cookie);
    expect(await (await originOf(worker, 'two')).json()).toMatchObject({ state: 'draining', stateSetBy: 'origin' });
    expect((await patch(worker, 'two', { weight: 2 })).status).toBe(200);
    expect(await (await originOf(worker, 'two')).json()).toMatchObject({ state: 'active', weight: 2, control: null });
  });
});

async function drained(worker: Worker, idle?: number): Promise<boolean | null> {
  const response = await originOf(worker, 'two', idle === undefined ? '' : `?idle=${idle}`);
  return ((await response.json()) as { drained: boolean | null }).drained;
}

describe('PATCH /_affinity/origins/<id>', () => {
  it('changes one origin, stores the configuration, applies it here at once and tells the health monitor', async () => {
    const worker = freshWorker();
    const response = await patch(worker, 'one', { weight: 0 });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: 'one', url: 'http://one', weight: 0, state: 'active' });
    const stored = JSON.parse((await testEnv.ORIGINS.get('config'))!) as { origins: { id: string; weight: number }[] };
    expect(stored.origins.map((o) => o.weight)).toEqual([0, 1, 1]);
    expect(response.headers.get('etag')).toBe(await etagOf((await testEnv.ORIGINS.get('config'))!));
    expect(worker.monitor.configured).toEqual([(await testEnv.ORIGINS.get('config'))!]);
    const served = await Promise.all(Array.from({ length: 30 }, () => browse(worker)));
    expect(served.filter((s) => s.servedBy === 'one')).toEqual([]);
  });

  it('answers 400 with every problem, and changes nothing', async () => {
    const worker = freshWorker();
    const before = await testEnv.ORIGINS.get('config');
    for (const [body, path] of [
      [{ weight: 2000 }, 'weight'],
      [{ state: 'paused' }, 'state'],
      [{ url: 'http://elsewhere' }, 'url'],
      [{}, '(root)'],
      ['not json', '(root)'],
      [[{ weight: 1 }], '(root)'],
    ] as const) {
      const response = await patch(worker, 'one', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(await response.json()).toMatchObject({ problems: [{ path }] });
    }
    expect(await testEnv.ORIGINS.get('config')).toBe(before);
    expect(worker.monitor.configured).toEqual([]);
  });

  it('answers 404 for an unknown origin, and 412 when the configuration changed since the ETag was read', async () => {
    const worker = freshWorker();
    expect((await patch(worker, 'nope', { state: 'draining' })).status).toBe(404);
    const etag = (await worker.fetch(`${HTTP}/_affinity/config`, { headers: auth })).headers.get('etag')!;
    expect((await patch(worker, 'one', { state: 'draining' }, { 'if-match': etag })).status).toBe(200);
    const theirs = await testEnv.ORIGINS.get('config'); // what the first writer stored
    const stale = await patch(worker, 'two', { state: 'draining' }, { 'if-match': etag });
    expect(stale.status).toBe(412);
    expect(await testEnv.ORIGINS.get('config'), 'the first writer’s value stands, byte for byte').toBe(theirs);
    expect(worker.monitor.configured, 'only the first change reached the monitor').toEqual([theirs]);
    const stored = JSON.parse(theirs!) as { origins: { state: string }[] };
    expect(stored.origins.map((o) => o.state)).toEqual(['draining', 'active', 'active']);
  });

  it('takes the bearer token only', async () => {
    const worker = freshWorker();
    const response = await worker.fetch(`${HTTP}/_affinity/origins/one`, { method: 'PATCH', body: '{"weight":0}' });
    expect(response.status).toBe(401);
  });
});

describe('the status report', () => {
  it('gives every origin its live figures from the fleet aggregator', async () => {
    const worker = isolate();
    await firstVisits(worker, 6);
    await forwardLocations();
    const report = (await (await worker.fetch(`${HTTP}/_affinity/status`, { headers: auth })).json()) as {
      fleet: { aggregator: string; activeSessions: number };
      origins: { id: string; live: { activeSessions: number; series: number[] } | null }[];
    };
    expect(report.fleet).toMatchObject({ aggregator: 'ok', activeSessions: 6 });
    expect(report.origins.reduce((sum, o) => sum + o.live!.activeSessions, 0)).toBe(6);
    expect(report.origins.every((o) => o.live!.series.length === 90)).toBe(true);
  });

  it('counts sessions, not requests without a session: 200 cookieless requests are 200 requests and no session', async () => {
    const worker = isolate();
    for (let i = 0; i < 200; i++) await worker.fetch(`${HTTP}/`);
    const [cookie] = await cookiesPinnedTo('two', 1);
    await browse(worker, cookie);
    await browse(worker, cookie);
    await storeFleetTotals();
    const families = await metricsOf(worker);
    const requests = ORIGINS.reduce(
      (sum, o) => sum + (sampleValue(families, 'edge_affinity_origin_requests_total', { origin: o.id }) ?? 0),
      0,
    );
    expect(requests).toBe(202);
    const report = (await (await worker.fetch(`${HTTP}/_affinity/status`, { headers: auth })).json()) as {
      fleet: { activeSessions: number };
    };
    expect(report.fleet.activeSessions).toBe(1);
  });
});

/** What a browser sends for a top-level navigation (the only request the admin session opens). */
const NAVIGATION = {
  accept: 'text/html',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
  'sec-fetch-site': 'same-origin',
};
