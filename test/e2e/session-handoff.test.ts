/**
 * Sessions that survive their origin (`affinity.handoff`) end to end: the bundled worker in front of
 * the demo shop itself (scripts/demo/cart-origin.ts), real node:http origins that keep carts in
 * memory and checkpoint every change with `Affinity-State`. An origin killed, drained then disabled,
 * or outranked by a fourth origin (rebalancing): the visitor's next page, served elsewhere, shows the
 * same cart, and says it was restored from the edge.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CartOrigin, MAX_CART_LINES, PRODUCTS } from '../../scripts/demo/cart-origin';
import { awaitDecisions, type LoggedDecision } from './support/decision-log';
import { Shopper } from './support/shopper';
import { DEFAULT_SECRETS, WorkerUnderTest } from './support/worker-under-test';

const HEALTH = { path: '/health', interval: 1, timeout: 1 };
const ADMIN = { authorization: `Bearer ${DEFAULT_SECRETS.ADMIN_TOKEN}`, 'content-type': 'application/json' };

let shops: CartOrigin[] = [];
let worker: WorkerUnderTest | undefined;

const configFor = (affinity: Record<string, unknown> = {}, weights: Record<string, number> = {}) => ({
  origins: shops.map((s) => ({ id: s.id, url: s.url, weight: weights[s.id] ?? 1 })),
  affinity: { handoff: true, ...affinity },
  health: HEALTH,
});

async function start(affinity: Record<string, unknown> = {}): Promise<WorkerUnderTest> {
  shops = ['app-1', 'app-2', 'app-3'].map((id) => new CartOrigin(id, 0));
  await Promise.all(shops.map((s) => s.start()));
  worker = await WorkerUnderTest.start({ config: configFor(affinity) });
  return worker;
}

afterEach(async () => {
  await worker?.dispose();
  worker = undefined;
  await Promise.all(shops.map((s) => s.stop()));
});

const shop = (id: string | null) => shops.find((s) => s.id === id)!;

/** A visitor whose cart holds `items` (added as the page's script does), and the origin holding it. */
async function shopperWith(w: WorkerUnderTest, items: string[]) {
  const shopper = new Shopper(w);
  await shopper.page();
  for (const item of items) expect((await shopper.add(item)).response.status).toBe(200);
  const { origin, items: held } = await shopper.cart();
  expect(held).toEqual(items);
  return { shopper, holder: origin };
}

/** PATCH /_affinity/origins/<id>, as an operator drains or disables one origin. */
async function patchOrigin(w: WorkerUnderTest, id: string, change: object): Promise<void> {
  const response = await w.fetch(`/_affinity/origins/${id}`, {
    method: 'PATCH',
    headers: ADMIN,
    body: JSON.stringify(change),
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

describe('a cart whose origin dies', () => {
  it('is on the next page, served by another origin, restored from the edge; and it travels on when that one dies too', async () => {
    const w = await start();
    const { shopper, holder } = await shopperWith(w, ['Hand grinder', 'Ceramic mug']);
    expect((await shopper.post('Paper filters')).response.status).toBe(303); // the form, without script
    const cart = ['Hand grinder', 'Ceramic mug', 'Paper filters'];
    await shop(holder).stop();
    const mark = w.logs.length;
    const moved = await shopper.page();
    expect(moved).toMatchObject({ status: 200, lines: cart });
    expect(moved.servedBy).not.toBe(holder);
    expect(moved.note).toMatch(`restored from the edge from ${holder}`);
    const [decision] = await awaitDecisions(w.logs, mark, 1, (d) => d.path === '/');
    expect(decision).toMatchObject({ decision: 'repinned', reason: 'connect-failed', stateFrom: holder });

    // Sealed again for the origin that took it over: a second death hands it on, from there.
    const second = moved.servedBy!;
    expect((await shopper.page()).note).toMatch(`lives in the memory of ${second}`);
    await shop(second).stop();
    const third = await shopper.page();
    expect(third.servedBy).not.toBe(holder);
    expect(third.servedBy).not.toBe(second);
    expect(third.lines).toEqual(cart);
    expect(third.note).toMatch(`restored from the edge from ${second}`);
  });

  it('is lost without handoff, as behind any sticky load balancer', async () => {
    const w = await start({ handoff: false });
    const { shopper, holder } = await shopperWith(w, ['Hand grinder']);
    expect(shopper.client.jar.has('__affinity_state')).toBe(false);
    await shop(holder).stop();
    const moved = await shopper.page();
    expect(moved.servedBy).not.toBe(holder);
    expect(moved.lines).toEqual([]);
    expect(moved.note).toMatch('has never seen your cart');
  });

  it('is not handed over once emptied: "Empty cart" clears the state at the edge', async () => {
    const w = await start();
    const { shopper, holder } = await shopperWith(w, ['Hand grinder']);
    expect(shopper.client.jar.has('__affinity_state')).toBe(true);
    expect((await shopper.empty()).response.status).toBe(200);
    expect(shopper.client.jar.has('__affinity_state')).toBe(false);
    await shop(holder).stop();
    const moved = await shopper.page();
    expect(moved.servedBy).not.toBe(holder);
    expect(moved.lines).toEqual([]);
    expect(moved.note).toMatch('has never seen your cart');
  });

  it(`travels whole when full: ${MAX_CART_LINES} lines with the longest ids fit the 3,072-byte state`, async () => {
    const w = await start();
    const shopper = new Shopper(w);
    await shopper.page();
    const items = Array.from({ length: MAX_CART_LINES }, (_, i) => (i % 2 ? 'Pour-over kettle' : 'Espresso beans'));
    for (const [i, item] of items.entries()) {
      const added = await shopper.add(item, `${i}`.padStart(64, 'x'));
      expect(added.response.status).toBe(200);
    }
    expect((await shopper.add('Ceramic mug')).response.status, 'one line too many').toBe(409);
    const { origin: holder } = await shopper.cart();
    await shop(holder).stop();
    const moved = await shopper.page();
    expect(moved.servedBy).not.toBe(holder);
    expect(moved.lines).toEqual(items);
  });
});

describe('a cart whose origin is drained, then disabled', () => {
  it('stays on its origin while it drains, and is restored on the next origin once it is disabled', async () => {
    const w = await start();
    const cart = ['Espresso beans', 'Hand grinder'];
    const { shopper, holder } = await shopperWith(w, cart);
    await patchOrigin(w, holder, { state: 'draining' });
    for (let visit = 0; visit < 3; visit++) {
      const page = await shopper.page();
      expect(page).toMatchObject({ servedBy: holder, lines: cart });
      expect(page.note).toMatch(`lives in the memory of ${holder}`);
    }
    await patchOrigin(w, holder, { state: 'disabled' });
    const mark = w.logs.length;
    const moved = await shopper.page();
    expect(moved.servedBy).not.toBe(holder);
    expect(moved.lines).toEqual(cart);
    expect(moved.note).toMatch(`restored from the edge from ${holder}`);
    const [decision] = await awaitDecisions(w.logs, mark, 1, (d) => d.path === '/');
    expect(decision).toMatchObject({ decision: 'repinned', reason: 'disabled', stateFrom: holder });
  });
});

describe('rebalancing to an origin added (affinity.rebalance)', () => {
  const RATE = 2;
  /** The bucket holds a second's worth, and at least one move, up front (core/routing/rebalance-rate.ts). */
  const CAPACITY = Math.max(1, RATE);
  /** Moves the bucket allows from `from` to `to` (ms); Miniflare runs the worker in one isolate, so one bucket. */
  const allowance = (from: number, to: number) => CAPACITY + (RATE * (to - from)) / 1000;
  /** Session i's own cart: three lines, distinct for every i below 125. */
  const cartOf = (i: number) => [0, 1, 2].map((digit) => PRODUCTS[Math.floor(i / 5 ** digit) % 5]!);

  interface Visitor {
    shopper: Shopper;
    cart: string[] | undefined;
    origin: string;
  }
  interface Move {
    visitor: Visitor;
    from: string;
    to: string;
    items: string[];
    /** When the request that moved it was sent and answered (ms): the worker's clock was read in between. */
    sent: number;
    answered: number;
  }

  /** `count` sessions on the three origins, every other one with a cart of its own. */
  async function openVisitors(w: WorkerUnderTest, count: number): Promise<Visitor[]> {
    const visitors: Visitor[] = [];
    for (let i = 0; i < count; i++) {
      const cart = i % 2 === 0 ? cartOf(i) : undefined;
      const { shopper, holder } = await shopperWith(w, cart ?? []);
      visitors.push({ shopper, cart, origin: holder });
    }
    return visitors;
  }

  /**
   * A bigger machine joins: app-4, weight 3 against 1 + 1 + 1, so that it ranks first for about half the
   * sessions. Returns the configuration PUT, at a rate of choice (a new rate starts a new bucket).
   */
  async function addFourthOrigin(w: WorkerUnderTest): Promise<(rate: number) => Promise<void>> {
    shops.push(new CartOrigin('app-4', 0));
    await shops[3]!.start();
    return async (rate) => {
      const body = JSON.stringify(configFor({ rebalance: { rate } }, { 'app-4': 3 }));
      const response = await w.fetch('/_affinity/config', { method: 'PUT', headers: ADMIN, body });
      expect(response.status, await response.clone().text()).toBe(200);
    };
  }

  /** One request of every visitor (the cart's JSON) until `until`, and the moves it saw. */
  async function round(visitors: Visitor[], until = Infinity): Promise<Move[]> {
    const moves: Move[] = [];
    for (const visitor of visitors) {
      if (Date.now() >= until) break;
      const sent = Date.now();
      const { origin, items } = await visitor.shopper.cart();
      const answered = Date.now();
      if (origin !== visitor.origin) moves.push({ visitor, from: visitor.origin, to: origin, items, sent, answered });
      visitor.origin = origin;
    }
    return moves;
  }

  /** The token bucket's bound over every stretch of the run, and the rate used (capacity as the margin). */
  function expectRateHeld(measured: Move[], began: number, ended: number): void {
    expect(measured.length).toBeLessThanOrEqual(allowance(began, ended));
    for (let i = 0; i < measured.length; i++) {
      for (let j = i; j < measured.length; j++) {
        expect(j - i + 1).toBeLessThanOrEqual(allowance(measured[i]!.sent, measured[j]!.answered));
      }
    }
    // Sessions left to move asked all along: the bucket refilled at the rate (it only loses tokens when
    // full, a second's worth, which is the margin for before the first request and after the last).
    expect(measured.length).toBeGreaterThanOrEqual(Math.floor((RATE * (ended - began)) / 1000));
  }

  it(`moves only sessions with a cart to a fourth origin, each with its cart, at most ${RATE} a second`, async () => {
    const w = await start({ rebalance: { rate: RATE } });
    const visitors = await openVisitors(w, 96);
    const placedOn = new Map(visitors.map((v) => [v, v.origin]));
    const putRate = await addFourthOrigin(w);
    const mark = w.logs.length;
    await putRate(RATE);

    // Three seconds of traffic from every session, one request after another, the bucket asked all along.
    const began = Date.now();
    const measured: Move[] = [];
    while (Date.now() < began + 3000) measured.push(...(await round(visitors, began + 3000)));
    const ended = Date.now();
    expectRateHeld(measured, began, ended);

    // Then every session still to move, at once, and none after that.
    await putRate(1000);
    const rest = await round(visitors);
    expect(rest.length, 'the rate, not the sessions to move, bounded the measured run').toBeGreaterThan(0);
    expect(await round(visitors), 'every session is at its first choice').toEqual([]);
    const moves = [...measured, ...rest];
    for (const move of moves) {
      expect(move.visitor.cart, 'only a session with a cart moves').toBeDefined();
      expect(move).toMatchObject({ to: 'app-4', items: move.visitor.cart });
    }
    for (const visitor of visitors.filter((v) => v.cart === undefined)) {
      expect(visitor.origin).toBe(placedOn.get(visitor));
    }

    const logged = await awaitDecisions(w.logs, mark, moves.length, (d) => d.reason === 'rebalance');
    expect(logged).toHaveLength(moves.length);
    const handedFrom = logged.map((d) => (d as LoggedDecision & { stateFrom?: string }).stateFrom);
    expect(handedFrom.sort()).toEqual(moves.map((m) => m.from).sort());
    for (const move of moves) {
      const page = await move.visitor.shopper.page();
      expect(page).toMatchObject({ servedBy: 'app-4', lines: move.visitor.cart });
      expect(page.note).toMatch(`restored from the edge from ${move.from}`);
    }
    const seconds = ((ended - began) / 1000).toFixed(2);
    console.log(
      `rebalance at ${RATE}/s: ${measured.length} of ${moves.length} sessions to move moved in ${seconds} s ` +
        `(allowance ${allowance(began, ended).toFixed(1)}); ${visitors.length - moves.length} of ${visitors.length} stayed`,
    );
  });
});
