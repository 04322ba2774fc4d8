/**
 * The tier of location objects at internet scale, as a discrete-event simulation in virtual time: N
 * isolates over 300 locations, as many per location as its share of the traffic (Zipf), each serving
 * requests (Poisson) of sessions of its location, refreshing its health snapshot through its location
 * object and reporting its traffic there, which forwards to the fleet aggregator.
 *
 * The decisions are the worker's own code, not a model of it: the isolate's tally, receipts and
 * unconfirmed batches (core/fleet/traffic-counts.ts, core/fleet/traffic-relay.ts), the location's relay (merging,
 * rounds, ledger, when a forward is due), the aggregator's window and its session estimate
 * (core/fleet/fleet-window.ts), the snapshot ages (core/health/snapshot-age.ts). What is modelled: the calls
 * between them (a local hop of 1 ms each way, and a round trip of 20 to 250 ms from each location to
 * the global objects), the isolates' requests, and the rules of the shells around those cores
 * (health-view.ts: refresh past the refresh age, wait past the interval; snapshot-relay.ts: one read
 * at a time, a second's pause after a failure; traffic-forwarder.ts: the alarm at `dueAt`, the
 * first forward after a quiet interval sent inline).
 *
 * During the run the busiest location's object restarts (its memory, held reports and snapshot copy
 * lost; its stored ledger kept) and the fleet aggregator refuses forwards for 3 s. After the traffic
 * stops, isolates report what they still hold, as the last request before a quiet spell schedules.
 */
import type { HealthConfig } from '../worker/core/config/config-schema';
import { parseConfig } from '../worker/core/config/config-parse';
import { fleetView } from '../worker/core/fleet/fleet-window';
import { seededRandom } from './overload/overload-scenario';
import { relayedSnapshotMaxAgeMs, snapshotMaxAgeMs, snapshotRefreshMs } from '../worker/core/health/snapshot-age';
import { TRAFFIC_REPORT_INTERVAL_MS } from '../worker/monitor/fleet-protocol';
import { SimulatedIsolates } from './simulated-isolates';
import { SimulatedLocations } from './simulated-locations';
import { isIsolateEvent, TierWorld } from './tier-world';

export interface TierScenario {
  isolates: number;
  locations: number;
  /** Exponent of the Zipf law of the locations' shares of the traffic. */
  zipf: number;
  /** Requests per isolate per second. */
  requestRate: number;
  /** Distinct sessions per isolate of a location (its session pool). */
  sessionsPerIsolate: number;
  origins: number;
  /** Probe interval, seconds (the defaults': 10). */
  interval: number;
  /** Traffic runs this long; the figures are taken after the warm-up. */
  seconds: number;
  warmupSeconds: number;
  /** Time after the traffic stops for what is held to arrive. */
  flushSeconds: number;
  seed: number;
  /**
   * false: the design before the tier, for comparison — every isolate reads the coordinator itself
   * (over its location's round trip), and only the snapshots are simulated.
   */
  tier: boolean;
}

export const DEFAULT_TIER_SCENARIO: Omit<TierScenario, 'isolates'> = {
  locations: 300,
  zipf: 1,
  requestRate: 0.5,
  sessionsPerIsolate: 3,
  origins: 10,
  interval: 10,
  seconds: 80,
  warmupSeconds: 20,
  flushSeconds: 40,
  seed: 17,
  tier: true,
};

export interface TierOutcome {
  scenario: TierScenario;
  /** Isolates of the busiest and of the median location. */
  isolatesPerLocation: { busiest: number; median: number };
  /** Calls per second reaching each global object after the warm-up, and what one level would send. */
  fleetPerSecond: number;
  coordinatorPerSecond: number;
  directFleetPerSecond: number;
  directCoordinatorPerSecond: number;
  /** Calls per second to the busiest location's object (reports, snapshot reads). */
  busiestLocationPerSecond: { reports: number; snapshots: number };
  /** Age of the snapshot each request routed by, after the warm-up (ms). */
  snapshotAgeMs: { p50: number; p99: number; max: number };
  /**
   * Requests after the warm-up that found their isolate's snapshot older than the interval (after a
   * quiet spell of that isolate): each waits for the refresh it starts, at most 250 ms; how long (ms).
   */
  requestsThatWaited: number;
  waitMs: { p50: number; p99: number };
  requestsAfterWarmup: number;
  counted: number;
  aggregated: number;
  /** Batches isolates sent again because the location object that took them restarted before forwarding them. */
  resentBatches: number;
  failedForwards: number;
  distinctSessions: number;
  estimatedSessions: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

const sortedOf = (values: number[]) => Float64Array.from(values).sort();

/** The health settings of a configuration with this probe interval, every other one at its default. */
export function healthWithInterval(interval: number): HealthConfig {
  const read = parseConfig({ origins: [{ id: 'a', url: 'http://a' }], health: { interval } });
  if (!read.ok) throw new Error(`no configuration has a probe interval of ${interval} s`);
  return read.config.health;
}

/** How many isolates each location has: its Zipf share of `isolates`, at least one. */
export function isolatesPerLocation(isolates: number, locations: number, zipf: number): number[] {
  const weights = Array.from({ length: locations }, (_, k) => 1 / (k + 1) ** zipf);
  const total = weights.reduce((a, b) => a + b, 0);
  const counts = weights.map((w) => Math.max(1, Math.floor((isolates * w) / total)));
  counts[0]! += isolates - counts.reduce((a, b) => a + b, 0);
  return counts;
}

export function simulateTier(scenario: TierScenario): TierOutcome {
  const world = new TierWorld(scenario, seededRandom(scenario.seed));
  const health = healthWithInterval(scenario.interval);
  const rule = { refreshMs: snapshotRefreshMs(health), maxAgeMs: snapshotMaxAgeMs(health) };
  const perLocation = isolatesPerLocation(scenario.isolates, scenario.locations, scenario.zipf);
  const home = perLocation.flatMap((count, l) => new Array<number>(count).fill(l));
  const locations = new SimulatedLocations(world, perLocation.length, home, relayedSnapshotMaxAgeMs(health));
  const isolates = new SimulatedIsolates(world, home, perLocation, rule);
  isolates.start();
  if (scenario.tier) world.queue.push(world.windowAt(0.4), { kind: 'restart', location: 0 });
  const stopAt = world.endMs + scenario.flushSeconds * 1000;
  for (let next = world.queue.pop(); next && next.at <= stopAt; next = world.queue.pop()) {
    (isIsolateEvent(next.event) ? isolates : locations).handle(next.at, next.event);
  }
  return outcome(world, { scenario, perLocation, isolates, locations, rule, stopAt });
}

function outcome(
  world: TierWorld,
  run: {
    scenario: TierScenario;
    perLocation: number[];
    isolates: SimulatedIsolates;
    locations: SimulatedLocations;
    rule: { refreshMs: number };
    stopAt: number;
  },
): TierOutcome {
  const { counters } = world;
  const { isolates } = run;
  const windowSeconds = (world.endMs - world.warmupMs) / 1000;
  const [ages, waits] = [sortedOf(isolates.ages), sortedOf(isolates.waits)];
  const counts = [...run.perLocation].sort((a, b) => a - b);
  return {
    scenario: run.scenario,
    isolatesPerLocation: { busiest: run.perLocation[0]!, median: counts[counts.length >> 1]! },
    fleetPerSecond: counters.fleetCalls / windowSeconds,
    coordinatorPerSecond: counters.coordinatorCalls / windowSeconds,
    directFleetPerSecond: isolates.count / (TRAFFIC_REPORT_INTERVAL_MS / 1000),
    directCoordinatorPerSecond: isolates.count / (run.rule.refreshMs / 1000),
    busiestLocationPerSecond: run.locations.callsTo(0, windowSeconds),
    snapshotAgeMs: {
      p50: percentile(ages, 0.5),
      p99: percentile(ages, 0.99),
      max: ages[ages.length - 1] ?? Number.NaN,
    },
    requestsThatWaited: counters.waited,
    waitMs: { p50: percentile(waits, 0.5), p99: percentile(waits, 0.99) },
    requestsAfterWarmup: ages.length,
    counted: counters.counted,
    aggregated: counters.aggregated,
    resentBatches: counters.resent,
    failedForwards: counters.failed,
    distinctSessions: isolates.sessions.size,
    estimatedSessions: fleetView(run.locations.fleet, run.stopAt).activeSessionsTotal,
  };
}
