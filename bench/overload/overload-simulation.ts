/**
 * The sticky overload cascade, simulated with the worker's own placement (route-plan.ts,
 * bounded-load.ts, load-estimate.ts' measure of load) and no network: `npm run bench` and
 * `npm run bench:overload` report it. Pure: a scenario and a source of randomness in, figures out.
 *
 * The cascade: sessions are sticky and their keys skewed (`affinity.key: "header:x-tenant"`, tenants
 * of Zipf-distributed sizes: a big tenant's sessions all hash to one origin). One origin slows down
 * tenfold; it cannot serve its pinned sessions, fails its probes, and they move, a big tenant's all
 * to the same next origin, which may then fail in turn. Without a balance factor the slowed origin,
 * healthy again once its sessions are gone, takes new sessions at its weight's share, overloads and
 * fails again. With one, sessions being placed skip origins above the bound, so moved sessions
 * spread and the slow origin takes only what it can carry. Scenarios, the outcome's figures and the
 * random draws are in overload-scenario.ts.
 *
 * One step per second. Each session sends `requestsPerSessionSecond` requests a second; an origin
 * answers at `baseLatencyMs / (1 - utilisation)` (an M/M/1 queue), and while its utilisation is at or
 * above 1 it answers nothing in time: its probes fail and, after `fall` of them, its sessions move on
 * their next request. Placement sees load as the worker does: the fleet's concurrency (rate × latency)
 * averaged over the last `window` seconds as of the last report, plus the placing isolate's own.
 */
import { loadBound } from '../../worker/core/routing/bounded-load';
import { exponential, poisson, zipfSampler, type OverloadOutcome, type OverloadScenario } from './overload-scenario';
import {
  planRoute,
  type Availability,
  type RoutableOrigin,
  type RouteRequest,
} from '../../worker/core/routing/route-plan';
import { createSelector, type OriginSelector } from '../../worker/core/routing/selector';

interface Session {
  key: string;
  origin: number;
  isolate: number;
  endsAt: number;
}

interface OriginState {
  capacity: number;
  baseLatencyMs: number;
  rate: number;
  utilisation: number;
  concurrency: number;
  health: { up: boolean; successes: number; failures: number };
}

/** Everything the simulation keeps between steps. */
interface World {
  scenario: OverloadScenario;
  random: () => number;
  origins: OriginState[];
  routable: RoutableOrigin[];
  selector: OriginSelector;
  sessions: Session[];
  /** Per isolate and origin: how many of that isolate's sessions are pinned there. */
  local: number[][];
  /** The fleet's concurrency as isolates last heard it, and the history it is averaged from. */
  fleetFigures: Float64Array;
  history: number[][];
  pickTenant: () => number;
  outcome: OverloadOutcome;
  /** New sessions per minute after the slowdown: [all, taken by the slowed origin]. */
  minutes: [number, number][];
  loadRatios: number[];
  /** Origins that were ever called unhealthy. */
  failed: Set<number>;
}

export function simulateOverload(scenario: OverloadScenario, random: () => number): OverloadOutcome {
  const world = newWorld(scenario, random);
  for (let t = 0; t < scenario.seconds; t++) step(world, t);
  const { outcome, loadRatios, minutes } = world;
  const mean = outcome.newSessions.reduce((a, b) => a + b, 0) / scenario.origins;
  outcome.newSessionMaxOverMean = Math.max(...outcome.newSessions) / mean;
  outcome.loadMaxOverMean = loadRatios.reduce((a, b) => a + b, 0) / Math.max(1, loadRatios.length);
  outcome.slowedSharePerMinute = minutes.map(([all, slowed]) => (all > 0 ? slowed / all : 0));
  return outcome;
}

function newWorld(scenario: OverloadScenario, random: () => number): World {
  const n = scenario.origins;
  const routable = Array.from({ length: n }, (_, i): RoutableOrigin => ({ id: `o${i}`, weight: 1, state: 'active' }));
  return {
    scenario,
    random,
    routable,
    selector: createSelector('rendezvous', routable),
    origins: Array.from({ length: n }, () => ({
      capacity: scenario.capacity,
      baseLatencyMs: scenario.baseLatencyMs,
      rate: 0,
      utilisation: 0,
      concurrency: 0,
      health: { up: true, successes: 0, failures: 0 },
    })),
    sessions: [],
    local: Array.from({ length: scenario.isolates }, () => new Array<number>(n).fill(0)),
    fleetFigures: new Float64Array(n),
    history: [],
    pickTenant: zipfSampler(scenario.tenants, scenario.zipf, random),
    outcome: {
      newSessions: new Array<number>(n).fill(0),
      newSessionMaxOverMean: 0,
      loadMaxOverMean: 0,
      moved: 0,
      unavoidableMoves: 0,
      failures: 0,
      failedOrigins: 0,
      overloadedRequests: 0,
      slowedSharePerMinute: [],
    },
    minutes: [],
    loadRatios: [],
    failed: new Set(),
  };
}

function step(world: World, t: number): void {
  const { scenario } = world;
  if (t === scenario.slowdown.at) slowDown(world);
  endSessions(world, t);
  moveSessionsOfDownOrigins(world);
  const arrivals = poisson(scenario.sessionsPerSecond, world.random);
  for (let i = 0; i < arrivals; i++) openSession(world, t);
  measureLoad(world);
  if (t % scenario.probe.interval === 0) probe(world);
  if (t % scenario.fleet.interval === 0) reportFleet(world);
}

function endSessions(world: World, t: number): void {
  const ended = world.sessions.filter((s) => s.endsAt <= t);
  for (const session of ended) unpin(world, session);
  if (ended.length > 0) world.sessions = world.sessions.filter((s) => s.endsAt > t);
}

function slowDown(world: World): void {
  const { origin, factor } = world.scenario.slowdown;
  const slowed = world.origins[origin]!;
  slowed.capacity /= factor;
  slowed.baseLatencyMs *= factor;
  world.outcome.unavoidableMoves = world.sessions.filter((s) => s.origin === origin).length;
}

/** What the worker's route plan sees: the origins, their health, and (with a factor) the load bound. */
function routeRequest(world: World, key: string, isolate: number): RouteRequest {
  const { scenario, origins } = world;
  const availability = (i: number): Availability => (origins[i]!.health.up ? 'up' : 'unhealthy');
  const factor = scenario.balanceFactor;
  const load = (i: number) => world.fleetFigures[i]! + localConcurrency(world, isolate, i);
  const takesNew = (i: number) => availability(i) === 'up';
  const placement = factor
    ? () => loadBound({ count: origins.length, load, weight: () => 1, takesNew, factor })
    : undefined;
  const { routable: routed, selector } = world;
  return { origins: routed, selector, failover: 'sticky', attempts: 1, sessionKey: key, availability, placement };
}

/** This isolate's share of an origin's concurrency: its sessions' requests in flight there. */
function localConcurrency(world: World, isolate: number, origin: number): number {
  const o = world.origins[origin]!;
  return world.local[isolate]![origin]! * world.scenario.requestsPerSessionSecond * latencySeconds(o);
}

function openSession(world: World, t: number): void {
  const { scenario, random } = world;
  const key = `tenant-${world.pickTenant()}`;
  const isolate = Math.floor(random() * scenario.isolates);
  const plan = planRoute(routeRequest(world, key, isolate));
  const origin = plan.candidates.first;
  if (origin === undefined) return;
  const session = { key, origin, isolate, endsAt: t + exponential(scenario.sessionSeconds, random) };
  world.sessions.push(session);
  world.local[isolate]![origin]!++;
  world.outcome.newSessions[origin]!++;
  if (t >= scenario.slowdown.at) {
    const minute = Math.floor((t - scenario.slowdown.at) / 60);
    const tally = (world.minutes[minute] ??= [0, 0]);
    tally[0]++;
    if (origin === scenario.slowdown.origin) tally[1]++;
  }
}

/** Sessions pinned to an origin the probes call down move on their next request, along their own list. */
function moveSessionsOfDownOrigins(world: World): void {
  for (const session of world.sessions) {
    if (world.origins[session.origin]!.health.up) continue;
    const plan = planRoute({ ...routeRequest(world, session.key, session.isolate), pinned: session.origin });
    const to = plan.candidates.first;
    if (to === undefined || to === session.origin) continue;
    unpin(world, session);
    session.origin = to;
    world.local[session.isolate]![to]!++;
    world.outcome.moved++;
  }
}

function unpin(world: World, session: Session): void {
  world.local[session.isolate]![session.origin]!--;
}

function measureLoad(world: World): void {
  const { scenario, origins } = world;
  for (const o of origins) o.rate = 0;
  for (const s of world.sessions) origins[s.origin]!.rate += scenario.requestsPerSessionSecond;
  for (const o of origins) {
    o.utilisation = o.rate / o.capacity;
    o.concurrency = o.rate * latencySeconds(o);
    if (o.utilisation >= 1) world.outcome.overloadedRequests += o.rate;
  }
  world.history.push(origins.map((o) => o.concurrency));
  const healthy = origins.filter((o) => o.health.up);
  const mean = healthy.reduce((sum, o) => sum + o.concurrency, 0) / Math.max(1, healthy.length);
  if (mean > 0) world.loadRatios.push(Math.max(...healthy.map((o) => o.concurrency)) / mean);
}

/** An M/M/1 queue's response time; at or past saturation, as long as a probe waits (50 × the base). */
function latencySeconds(o: OriginState): number {
  return o.baseLatencyMs / 1000 / Math.max(0.02, 1 - o.utilisation);
}

/** Rise/fall on whether the origin keeps up (health-transition.ts does the same with real probes). */
function probe(world: World): void {
  const { rise, fall } = world.scenario.probe;
  world.origins.forEach((o, i) => {
    const ok = o.utilisation < 1;
    const h = o.health;
    [h.successes, h.failures] = ok ? [h.successes + 1, 0] : [0, h.failures + 1];
    if (h.up && h.failures >= fall) {
      h.up = false;
      world.outcome.failures++;
      world.failed.add(i);
    } else if (!h.up && h.successes >= rise) h.up = true;
  });
  world.outcome.failedOrigins = world.failed.size;
}

/** Isolates hear the fleet's mean concurrency over the window, as the aggregator answers their reports. */
function reportFleet(world: World): void {
  const { window } = world.scenario.fleet;
  const recent = world.history.slice(-window);
  const mean = (i: number) => recent.reduce((sum, row) => sum + row[i]!, 0) / recent.length;
  world.fleetFigures = Float64Array.from(world.origins, (_, i) => mean(i));
}
