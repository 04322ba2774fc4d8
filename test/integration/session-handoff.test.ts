/**
 * Sessions that keep their state when they move (`affinity.handoff`): what origins checkpoint is
 * sealed into the state cookie, never shown in clear, never sent back to an origin, and handed once to
 * the session's next origin when the session moves; what a client or an origin cannot do with it; and
 * rebalancing, maxAge and lifetime, through the whole worker with stubbed origins.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_STATE_BYTES } from '../../worker/core/session/sealed-state';
import { affinityCookie, freshWorker, seedConfig, stubOrigins, type OriginBehaviour } from './support';

const ORIGINS = ['one', 'two', 'three'].map((id) => ({ id, url: `http://${id}` }));
const HTTP = 'http://proxy.test';
type Worker = ReturnType<typeof freshWorker>;

/**
 * A shop origin: keeps carts in memory by the handed-over or checkpointed state, checkpoints the cart
 * in `Affinity-State` on every change (`?add=<item>`), and answers with what it holds and what it was handed.
 */
function shop(name: string): OriginBehaviour {
  return (request) => {
    const url = new URL(request.url);
    const handed = request.headers.get('affinity-handoff-state');
    const add = url.searchParams.get('add');
    const state = url.searchParams.get('state');
    const headers: Record<string, string> = { 'x-served-by': name };
    if (state !== null) headers['affinity-state'] = state;
    else if (add !== null) headers['affinity-state'] = add;
    return Response.json(
      {
        servedBy: name,
        handoff: handed,
        from: request.headers.get('affinity-handoff-from'),
        cookie: request.headers.get('cookie'),
      },
      { headers },
    );
  };
}
const shops = () => Object.fromEntries(ORIGINS.map((o) => [o.id, shop(o.id)]));

interface Visit {
  status: number;
  servedBy: string | undefined;
  handoff: string | null;
  from: string | null;
  originCookie: string | null;
  setCookies: string[];
  headers: Headers;
}

/** A client that keeps its cookies as a browser does (name by name, deleted on Max-Age=0). */
class Client {
  readonly jar = new Map<string, string>();
  constructor(readonly worker: Worker) {}

  async visit(path = '/', headers: Record<string, string> = {}): Promise<Visit> {
    const cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await this.worker.fetch(`${HTTP}${path}`, {
      headers: { ...(cookie ? { cookie } : {}), ...headers },
    });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair] = line.split(';');
      const [name, value] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      if (/max-age=0/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const text = await response.text();
    const body = (text.startsWith('{') ? JSON.parse(text) : {}) as Record<string, string | null>;
    return {
      status: response.status,
      servedBy: response.headers.get('x-served-by') ?? undefined,
      handoff: body.handoff ?? null,
      from: body.from ?? null,
      originCookie: body.cookie ?? null,
      setCookies,
      headers: response.headers,
    };
  }
}

const configure = (affinity: Record<string, unknown> = {}, origins: object[] = ORIGINS) =>
  seedConfig({ origins, affinity: { handoff: true, decisionHeader: true, ...affinity } });

beforeEach(() => configure());
afterEach(() => vi.restoreAllMocks());

/** A client whose session lives on some origin, with a cart of `cart` checkpointed there. */
async function clientWithCart(worker = freshWorker(), cart = 'tea,milk') {
  stubOrigins(shops());
  const client = new Client(worker);
  const first = await client.visit(`/?add=${cart}`);
  return { client, origin: first.servedBy!, first };
}

describe('a state an origin checkpoints', () => {
  it('is sealed into <cookie>_state, never shown to the client in clear, never sent back to an origin', async () => {
    const { client, first } = await clientWithCart();
    expect(first.headers.has('affinity-state')).toBe(false);
    const stateCookie = first.setCookies.find((c) => c.startsWith('__affinity_state='))!;
    expect(stateCookie).toMatch(/HttpOnly/);
    expect(stateCookie).toMatch(/Max-Age=82800/);
    expect(stateCookie).not.toContain('tea');
    expect(client.jar.get('__affinity')!.startsWith('2.')).toBe(true); // the token names the state
    const next = await client.visit('/');
    expect(next.originCookie).toBeNull(); // neither the affinity cookie nor the state reached the origin
    expect(next.handoff).toBeNull();
    expect(next.setCookies).toEqual([]); // nothing changed: nothing set
  });

  it('is set again only when its value changes', async () => {
    const { client } = await clientWithCart();
    expect((await client.visit('/?add=tea,milk')).setCookies).toEqual([]);
    const changed = await client.visit('/?add=tea,milk,bread');
    expect(changed.setCookies.map((c) => c.split('=')[0]).sort()).toEqual(['__affinity', '__affinity_state']);
  });

  it('is handed once to the next origin when its origin goes down, and travels on', async () => {
    const { client, origin } = await clientWithCart();
    stubOrigins({ ...shops(), [origin]: 'refuse' });
    const moved = await client.visit('/');
    expect(moved.status).toBe(200);
    expect(moved.servedBy).not.toBe(origin);
    expect([moved.handoff, moved.from]).toEqual(['tea,milk', origin]);
    expect(moved.headers.get('x-affinity-decision')).toMatch(/^repinned; origin=\S+; reason=connect-failed/);
    const after = await client.visit('/');
    expect([after.servedBy, after.handoff]).toEqual([moved.servedBy, null]); // once
    // Sealed for the new origin: should it go down too, the state goes on to the third.
    stubOrigins({ ...shops(), [origin]: 'refuse', [moved.servedBy!]: 'refuse' });
    const third = await client.visit('/');
    expect([third.handoff, third.from]).toEqual(['tea,milk', moved.servedBy]);
  });

  it('is handed over when the operator disables its origin, and when its origin says repin', async () => {
    const { client, origin } = await clientWithCart();
    await configure(
      {},
      ORIGINS.map((o) => (o.id === origin ? { ...o, state: 'disabled' } : o)),
    );
    const worker = freshWorker();
    const moved = await new Client(worker).visit('/', {
      cookie: [...client.jar].map(([n, v]) => `${n}=${v}`).join('; '),
    });
    expect([moved.handoff, moved.from]).toEqual(['tea,milk', origin]);

    await configure();
    const other = await clientWithCart(freshWorker(), 'jam');
    const target = ORIGINS.find((o) => o.id !== other.origin)!.id;
    stubOrigins({
      ...shops(),
      [other.origin]: () =>
        new Response('bye', { headers: { 'x-served-by': other.origin, 'affinity-control': `repin=${target}` } }),
    });
    await other.client.visit('/');
    stubOrigins(shops());
    const handed = await other.client.visit('/');
    expect([handed.servedBy, handed.handoff, handed.from]).toEqual([target, 'jam', other.origin]);
  });

  it('is removed by ;clear, and nothing is handed over after that', async () => {
    const { client, origin } = await clientWithCart();
    const cleared = await client.visit('/?state=;clear');
    expect(cleared.setCookies.some((c) => c.startsWith('__affinity_state=;') && /Max-Age=0/.test(c))).toBe(true);
    expect(client.jar.has('__affinity_state')).toBe(false);
    stubOrigins({ ...shops(), [origin]: 'refuse' });
    expect((await client.visit('/')).handoff).toBeNull();
  });

  it('is not sealed over the size limit, and says so in the log; the last good state is kept', async () => {
    const { client, origin } = await clientWithCart();
    const log = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const big = await client.visit(`/?state=${'x'.repeat(MAX_STATE_BYTES + 1)}`);
    const lines = log.mock.calls.map(([line]) => JSON.parse(String(line)));
    log.mockRestore();
    expect(big.setCookies).toEqual([]);
    expect(lines.find((l) => l.event === 'handoff.too-large')).toMatchObject({
      origin,
      bytes: MAX_STATE_BYTES + 1,
      limit: MAX_STATE_BYTES,
    });
    stubOrigins({ ...shops(), [origin]: 'refuse' });
    expect((await client.visit('/')).handoff).toBe('tea,milk');
  });

  it('seals the largest state allowed, and hands it over whole', async () => {
    const value = 'v'.repeat(MAX_STATE_BYTES);
    const { client, origin } = await clientWithCart(freshWorker(), value);
    expect(client.jar.get('__affinity_state')!.length + '__affinity_state='.length).toBeLessThanOrEqual(4096);
    stubOrigins({ ...shops(), [origin]: 'refuse' });
    expect((await client.visit('/')).handoff).toBe(value);
  });
});

describe('what a client cannot do with a state', () => {
  it('cannot replay an older state next to a newer token: nothing is handed over, and the stale cookie is removed', async () => {
    const { client, origin } = await clientWithCart();
    const old = client.jar.get('__affinity_state')!;
    await client.visit('/?add=tea,milk,bread');
    client.jar.set('__affinity_state', old);
    stubOrigins({ ...shops(), [origin]: 'refuse' });
    const moved = await client.visit('/');
    expect(moved.handoff).toBeNull();
    expect(client.jar.has('__affinity_state')).toBe(false);
  });

  it('cannot give its state to another session', async () => {
    const worker = freshWorker();
    const a = await clientWithCart(worker, 'secret-cart');
    let b = await clientWithCart(worker, 'other');
    while (b.origin !== a.origin) b = await clientWithCart(worker, 'other');
    b.client.jar.set('__affinity_state', a.client.jar.get('__affinity_state')!);
    stubOrigins({ ...shops(), [a.origin]: 'refuse' });
    expect((await b.client.visit('/')).handoff).toBeNull();
  });

  it('cannot forge one, nor send the handoff headers itself', async () => {
    const { client, origin } = await clientWithCart();
    const sealed = client.jar.get('__affinity_state')!;
    client.jar.set('__affinity_state', sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA'));
    stubOrigins({ ...shops(), [origin]: 'refuse' });
    const moved = await client.visit('/', {
      'affinity-handoff-state': 'forged',
      'affinity-handoff-from': 'x',
      'affinity-state': 'y',
    });
    expect([moved.handoff, moved.from]).toEqual([null, null]);
  });

  it('opens under the previous secret during a rotation', async () => {
    const { client, origin } = await clientWithCart();
    const rotated = freshWorker({
      AFFINITY_SECRET: 'a brand new secret',
      AFFINITY_SECRET_PREVIOUS: 'integration-test-secret',
    });
    stubOrigins({ ...shops(), [origin]: 'refuse' });
    const moved = await new Client(rotated).visit('/', {
      cookie: [...client.jar].map(([n, v]) => `${n}=${v}`).join('; '),
    });
    expect(moved.handoff).toBe('tea,milk');
  });
});

describe('with handoff off', () => {
  it('an origin’s Affinity-State never reaches the client, and no state cookie is set', async () => {
    await configure({ handoff: false });
    const { first } = await clientWithCart();
    expect(first.headers.has('affinity-state')).toBe(false);
    expect(first.setCookies.some((c) => c.startsWith('__affinity_state='))).toBe(false);
  });
});

describe('session lifetimes', () => {
  it('lifetime "browser": neither cookie carries Max-Age', async () => {
    await configure({ lifetime: 'browser' });
    const { first } = await clientWithCart();
    expect(first.setCookies).toHaveLength(2);
    for (const line of first.setCookies) expect(line).not.toMatch(/Max-Age/i);
  });

  it('maxAge: a session is hashed anew once it outlives its absolute lifetime, however active', async () => {
    await configure({ maxAge: 60, ttl: 3600 });
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    try {
      const { client } = await clientWithCart();
      const sessionOf = () => client.jar.get('__affinity')!.split('.')[3];
      const session = sessionOf();
      for (let i = 0; i < 5; i++) {
        vi.advanceTimersByTime(10_000);
        expect((await client.visit('/')).headers.get('x-affinity-decision')).toMatch(/^pinned;/);
      }
      vi.advanceTimersByTime(10_000); // 60 s since the first pin
      const aged = await client.visit('/');
      expect(aged.headers.get('x-affinity-decision')).toMatch(/^repinned; origin=\S+; reason=expired; cookie=expired/);
      expect(sessionOf()).not.toBe(session);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('rebalancing (affinity.rebalance)', () => {
  /** Sessions on three origins, half of them with a state. */
  async function sessions(worker: Worker, count: number) {
    stubOrigins({ one: shop('one'), two: shop('two'), three: shop('three'), four: shop('four') });
    const clients: { client: Client; stated: boolean; origin: string }[] = [];
    for (let i = 0; i < count; i++) {
      const client = new Client(worker);
      const stated = i % 2 === 0;
      const first = await client.visit(stated ? `/?add=cart-${i}` : '/');
      clients.push({ client, stated, origin: first.servedBy! });
    }
    return clients;
  }

  it('moves only sessions that carry a state to a newly added origin that now ranks first for them, with their state', async () => {
    await configure({ rebalance: { rate: 1000 } });
    const worker = freshWorker();
    const clients = await sessions(worker, 60);
    await configure({ rebalance: { rate: 1000 } }, [...ORIGINS, { id: 'four', url: 'http://four' }]);
    const fresh = freshWorker();
    const moves: { stated: boolean; to: string; handoff: string | null; decision: string | null }[] = [];
    for (const { client, stated, origin } of clients) {
      const visit = await new Client(fresh).visit('/', {
        cookie: [...client.jar].map(([n, v]) => `${n}=${v}`).join('; '),
      });
      if (visit.servedBy !== origin)
        moves.push({
          stated,
          to: visit.servedBy!,
          handoff: visit.handoff,
          decision: visit.headers.get('x-affinity-decision'),
        });
    }
    expect(moves.length).toBeGreaterThan(0);
    for (const move of moves) {
      expect(move).toMatchObject({ stated: true, to: 'four' });
      expect(move.handoff).toMatch(/^cart-\d+$/);
      expect(move.decision).toMatch(/^repinned; origin=four; reason=rebalance/);
    }
  });

  it('moves at most rate sessions a second per isolate', async () => {
    await configure({ rebalance: { rate: 1 } });
    const clients = (await sessions(freshWorker(), 80)).filter((c) => c.stated);
    await configure({ rebalance: { rate: 1 } }, [...ORIGINS, { id: 'four', url: 'http://four' }]);
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    try {
      const fresh = freshWorker();
      let moved = 0;
      for (const { client } of clients) {
        const visit = await new Client(fresh).visit('/', {
          cookie: [...client.jar].map(([n, v]) => `${n}=${v}`).join('; '),
        });
        if (visit.servedBy === 'four') moved++;
      }
      expect(moved).toBe(1); // one second's worth, no time passed
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a state that lives as long as its session', () => {
  it('is sealed anew whenever the token is re-issued, so an active session keeps it past ttl', async () => {
    await configure({ ttl: 4 });
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    try {
      const { client, origin } = await clientWithCart();
      for (let second = 1; second <= 6; second++) {
        vi.advanceTimersByTime(1_000);
        expect((await client.visit('/')).servedBy).toBe(origin);
      }
      stubOrigins({ ...shops(), [origin]: 'refuse' });
      expect((await client.visit('/')).handoff).toBe('tea,milk');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('what review found, held', () => {
  it('a state sealed anew when its origin repeats the same checkpoint with a re-issued token', async () => {
    await configure({ ttl: 4 });
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
    try {
      const { client, origin } = await clientWithCart(freshWorker(), 'tea');
      vi.advanceTimersByTime(2_000);
      await client.visit('/?add=tea'); // the token is due, the value repeated
      vi.advanceTimersByTime(1_000);
      await client.visit('/');
      vi.advanceTimersByTime(2_000);
      stubOrigins({ ...shops(), [origin]: 'refuse' });
      expect((await client.visit('/')).handoff).toBe('tea');
    } finally {
      vi.useRealTimers();
    }
  });

  it('the cookie sealed before a move cannot have the state handed over a second time', async () => {
    const { client, origin } = await clientWithCart(freshWorker(), 'tea');
    const beforeMove = client.jar.get('__affinity_state')!;
    stubOrigins({ ...shops(), [origin]: 'refuse' });
    expect((await client.visit('/')).handoff).toBe('tea');
    client.jar.set('__affinity_state', beforeMove);
    expect((await client.visit('/')).handoff).toBeNull();
  });

  it('rebalancing moves no POST: a failed first choice could not fall back to the pin', async () => {
    await configure({ rebalance: { rate: 1000 } });
    const clients = await Promise.all(Array.from({ length: 24 }, () => clientWithCart(freshWorker(), 'cart')));
    await configure({ rebalance: { rate: 1000 } }, [...ORIGINS, { id: 'four', url: 'http://four' }]);
    stubOrigins({ ...shops(), four: shop('four') });
    const fresh = freshWorker();
    let moved = 0;
    for (const { client, origin } of clients) {
      const cookie = [...client.jar].map(([n, v]) => `${n}=${v}`).join('; ');
      const response = await fresh.fetch(`${HTTP}/checkout`, { method: 'POST', body: 'order=1', headers: { cookie } });
      expect(response.headers.get('x-served-by')).toBe(origin);
      const get = await new Client(fresh).visit('/', { cookie });
      if (get.servedBy === 'four') moved++;
    }
    expect(moved).toBeGreaterThan(0); // the same sessions' GETs do move
  });

  it('rebalancing does not undo an origin’s repin', async () => {
    await configure({ rebalance: { rate: 1000 } });
    const worker = freshWorker();
    const { client, origin } = await clientWithCart(worker, 'room-7');
    const target = ORIGINS.find((o) => o.id !== origin)!.id;
    stubOrigins({
      ...shops(),
      [origin]: () => new Response('x', { headers: { 'x-served-by': origin, 'affinity-control': `repin=${target}` } }),
    });
    await client.visit('/');
    stubOrigins(shops());
    const handed = await client.visit('/');
    expect([handed.servedBy, handed.handoff]).toEqual([target, 'room-7']);
    expect((await client.visit('/')).servedBy).toBe(target);
  });
});
