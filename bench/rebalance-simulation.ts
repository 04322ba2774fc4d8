/**
 * Rebalancing after scale-up, simulated with the worker's own routing (core/routing/route-plan.ts with the
 * rendezvous selector, core/routing/rebalance-rate.ts) and no network: three loaded origins, a fourth added,
 * and how the load spreads over the next hour with and without `affinity.rebalance`.
 *
 *   npm run bench:rebalance
 *
 * The model, one step per second: SESSIONS live sessions, each making a request every
 * MEAN_REQUEST_GAP_S seconds on average (Poisson), each lasting MEAN_LIFETIME_MIN minutes on average
 * (exponential) and replaced by a new one when it ends; a share STATED_SHARE of them carry a sealed
 * state (the only ones rebalancing moves). Each request lands on one of ISOLATES isolates at random,
 * each with its own rate bucket. Sticky sessions never move by themselves: without rebalancing the new
 * origin takes only new sessions, so its share of the load grows as old sessions end.
 */
import { RebalanceRate } from '../worker/core/routing/rebalance-rate';
import { planRoute, type RoutableOrigin, type RouteRequest } from '../worker/core/routing/route-plan';
import { seededRandom } from './overload/overload-scenario';
import { createSelector, type OriginSelector } from '../worker/core/routing/selector';

const SESSIONS = 30_000;
const MEAN_REQUEST_GAP_S = 30;
const MEAN_LIFETIME_MIN = 30;
const STATED_SHARE = 0.5;
const ISOLATES = 50;
const MINUTES = 60;
const REPORT_AT_MINUTES = [1, 2, 5, 10, 15, 30, 60];
const SEED = 7;

interface Session {
  key: string;
  origin: number;
  stated: boolean;
  endsAt: number;
}

interface Variant {
  name: string;
  /** Moves per second per isolate; undefined: no rebalancing. */
  rate?: number;
}

const VARIANTS: Variant[] = [
  { name: 'without rebalance' },
  { name: 'rebalance rate 0.2/s per isolate', rate: 0.2 },
  { name: 'rebalance rate 1/s per isolate', rate: 1 },
  { name: 'rebalance rate 5/s per isolate', rate: 5 },
];

interface Row {
  variant: string;
  /** The new origin's share of the requests in each reported minute (the fair share is 25%). */
  newOriginShare: Record<number, number>;
  /** The busiest origin's requests over the mean, in each reported minute. */
  maxOverMean: Record<number, number>;
  /** Sessions moved by rebalancing over the hour, and how many of them carried no state (must be 0). */
  moved: number;
  movedWithoutState: number;
}

const origins = (n: number): RoutableOrigin[] =>
  Array.from({ length: n }, (_, i) => ({ id: `app-${i + 1}`, weight: 1, state: 'active' }));

function simulate(variant: Variant): Row {
  const random = seededRandom(SEED);
  const exponential = (mean: number) => -Math.log(1 - random()) * mean;
  let serial = 0;
  const three = origins(3);
  const four = origins(4);
  const selectors = { three: createSelector('rendezvous', three), four: createSelector('rendezvous', four) };
  const route = (selector: OriginSelector, list: RoutableOrigin[], extra: Partial<RouteRequest>): RouteRequest => ({
    origins: list,
    selector,
    failover: 'sticky',
    attempts: 3,
    sessionKey: '',
    availability: () => 'up',
    ...extra,
  });
  const place = (key: string, list: RoutableOrigin[], selector: OriginSelector) =>
    planRoute(route(selector, list, { sessionKey: key })).candidates.first!;
  const newSession = (now: number, list: RoutableOrigin[], selector: OriginSelector): Session => {
    const key = `s${serial++}`;
    return {
      key,
      origin: place(key, list, selector),
      stated: random() < STATED_SHARE,
      endsAt: now + exponential(MEAN_LIFETIME_MIN * 60),
    };
  };
  // Three origins, loaded: sessions already live, of every age.
  const sessions = Array.from({ length: SESSIONS }, () => newSession(0, three, selectors.three));
  const buckets = Array.from({ length: ISOLATES }, () => (variant.rate ? new RebalanceRate(variant.rate) : undefined));
  const row: Row = { variant: variant.name, newOriginShare: {}, maxOverMean: {}, moved: 0, movedWithoutState: 0 };
  const perRequest = 1 / MEAN_REQUEST_GAP_S;
  let minute = new Array<number>(4).fill(0);
  for (let second = 0; second < MINUTES * 60; second++) {
    for (let i = 0; i < sessions.length; i++) {
      let session = sessions[i]!;
      if (session.endsAt <= second) session = sessions[i] = newSession(second, four, selectors.four);
      if (random() >= perRequest) continue;
      const bucket = buckets[Math.floor(random() * ISOLATES)];
      const rebalance = bucket && session.stated ? () => bucket.take(second * 1000) : undefined;
      const plan = planRoute(
        route(selectors.four, four, { sessionKey: session.key, pinned: session.origin, rebalance }),
      );
      const served = plan.candidates.first!;
      if (plan.reason === 'rebalance') {
        row.moved++;
        if (!session.stated) row.movedWithoutState++;
      }
      session.origin = served;
      minute[served]!++;
    }
    if ((second + 1) % 60 === 0) {
      const at = (second + 1) / 60;
      if (REPORT_AT_MINUTES.includes(at)) {
        const total = minute.reduce((a, b) => a + b, 0);
        row.newOriginShare[at] = minute[3]! / total;
        row.maxOverMean[at] = Math.max(...minute) / (total / 4);
      }
      minute = new Array<number>(4).fill(0);
    }
  }
  return row;
}

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;
const rows = VARIANTS.map(simulate);
console.log(
  `Rebalancing after adding app-4 to 3 loaded origins: ${SESSIONS} sessions, a request every ${MEAN_REQUEST_GAP_S} s, ` +
    `${MEAN_LIFETIME_MIN} min mean lifetime, ${percent(STATED_SHARE)} with a state, ${ISOLATES} isolates (seed ${SEED}).`,
);
console.log(`\napp-4's share of the requests in minute … (fair share 25%)`);
console.log(`| variant | ${REPORT_AT_MINUTES.map((m) => `min ${m}`).join(' | ')} | moved | moved without state |`);
console.log(`|---|${REPORT_AT_MINUTES.map(() => '---:').join('|')}|---:|---:|`);
for (const row of rows) {
  const shares = REPORT_AT_MINUTES.map((m) => percent(row.newOriginShare[m]!));
  console.log(`| ${row.variant} | ${shares.join(' | ')} | ${row.moved} | ${row.movedWithoutState} |`);
}
console.log(`\nbusiest origin's requests over the mean in minute …`);
console.log(`| variant | ${REPORT_AT_MINUTES.map((m) => `min ${m}`).join(' | ')} |`);
console.log(`|---|${REPORT_AT_MINUTES.map(() => '---:').join('|')}|`);
for (const row of rows) {
  console.log(`| ${row.variant} | ${REPORT_AT_MINUTES.map((m) => row.maxOverMean[m]!.toFixed(2)).join(' | ')} |`);
}
