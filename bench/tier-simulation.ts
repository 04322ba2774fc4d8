/**
 * The tier of location objects at internet scale, as a discrete-event simulation in virtual time: N
 * isolates over 300 locations, as many per location as its share of the traffic (Zipf), each serving
 * requests (Poisson) of sessions of its location, refreshing its health snapshot through its location
 * object and reporting its traffic there, which forwards to the fleet aggregator.
 *
 * The decisions are the worker's own code, not a model of it: the isolate's tally, receipts and
 * unconfirmed batches (core/traffic-counts.ts, core/traffic-relay.ts), the location's relay (merging,
 * rounds, ledger, when a forward is due), the aggregator's window and its session estimate
 * (core/fleet-window.ts), the snapshot ages (core/snapshot-age.ts). What is modelled: the calls
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
import {
  FRESH_SNAPSHOT_WAIT_MS,
  relayedSnapshotMaxAgeMs,
  snapshotMaxAgeMs,
  snapshotRefreshMs,
} from '../worker/core/snapshot-age';
import type { HealthConfig } from '../worker/core/config-schema';
import { parseConfig } from '../worker/core/config-parse';
import { fleetView, mergeBatch, newFleetWindow } from '../worker/core/fleet-window';
import { murmur3 } from '../worker/core/hash';
import { exponential, seededRandom } from '../worker/core/overload-scenario';
import { TrafficTally, type TrafficBatch } from '../worker/core/traffic-counts';
import {
  MAX_UNCONFIRMED_BATCHES,
  TrafficRelay,
  UnconfirmedBatches,
  type Receipt,
  type RelayLedger,
} from '../worker/core/traffic-relay';
import {
  LOCATION_DRAIN_FORWARD_INTERVAL_MS,
  LOCATION_FORWARD_INTERVAL_MS,
  SNAPSHOT_RETRY_AFTER_FAILURE_MS,
} from '../worker/location/location-protocol';
import { TRAFFIC_REPORT_INTERVAL_MS } from '../worker/fleet/fleet-protocol';
import { EventQueue } from './event-queue';

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

const LOCAL_HOP_MS = 1;
const FLEET_OUTAGE_MS = 3_000;

type Event =
  | { kind: 'request'; isolate: number }
  | { kind: 'ask-snapshot'; isolate: number }
  | { kind: 'snapshot'; isolate: number; takenAt: number | undefined }
  | { kind: 'coordinator-read'; location: number; takenAt: number; incarnation: number }
  | { kind: 'report'; isolate: number }
  | { kind: 'relay'; isolate: number; batch: TrafficBatch }
  | { kind: 'relayed'; isolate: number; batch: TrafficBatch; answer: Answer | undefined }
  | { kind: 'alarm'; location: number; token: number }
  | { kind: 'forward-arrives'; location: number; batch: TrafficBatch; incarnation: number }
  | { kind: 'forward-answered'; location: number; ok: boolean; incarnation: number }
  | { kind: 'restart'; location: number };

interface Answer {
  incarnation: string;
  receipt: Receipt;
  ledger: RelayLedger;
}

interface Location {
  rttMs: number;
  relay: TrafficRelay;
  incarnation: number;
  stored: RelayLedger;
  copy?: number;
  waiting?: number[];
  failedAt: number;
  alarmToken: number;
  alarmAt: number | null;
  /** Reports that found a forward due wait for its answer. */
  inline: { isolate: number; batch: TrafficBatch; receipt: Receipt }[];
  reports: number;
  snapshots: number;
}

const requestsIn = (batch: TrafficBatch) => Object.values(batch.origins).reduce((sum, c) => sum + c.requests, 0);

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

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
  const random = seededRandom(scenario.seed);
  const health = healthWithInterval(scenario.interval);
  const [refreshMs, relayedMs, maxAgeMs] = [
    snapshotRefreshMs(health),
    relayedSnapshotMaxAgeMs(health),
    snapshotMaxAgeMs(health),
  ];
  const perLocation = isolatesPerLocation(scenario.isolates, scenario.locations, scenario.zipf);
  const timing = { intervalMs: LOCATION_FORWARD_INTERVAL_MS, drainIntervalMs: LOCATION_DRAIN_FORWARD_INTERVAL_MS };
  const newRelay = (l: number, n: number, stored: RelayLedger) =>
    new TrafficRelay(`${l}.${n}`, stored, { ...timing, phaseMs: random() * LOCATION_FORWARD_INTERVAL_MS });
  const locations: Location[] = perLocation.map((_, l) => ({
    rttMs: 20 + random() * 230,
    relay: newRelay(l, 0, {}),
    incarnation: 0,
    stored: {},
    failedAt: -Infinity,
    alarmToken: 0,
    alarmAt: null,
    inline: [],
    reports: 0,
    snapshots: 0,
  }));
  const home = perLocation.flatMap((count, l) => new Array<number>(count).fill(l));
  const n = home.length;
  const tallies = home.map(() => new TrafficTally());
  const unconfirmed = home.map(() => new UnconfirmedBatches(MAX_UNCONFIRMED_BATCHES));
  const takenAt = new Float64Array(n).fill(-Infinity);
  const checkedAt = new Float64Array(n).fill(-Infinity);
  const refreshing = new Uint8Array(n);
  const sentAt = new Float64Array(n).fill(-Infinity);
  const reportDue = new Uint8Array(n);
  const waitingSince = new Float64Array(n).fill(Number.NaN);
  const waits: number[] = [];
  const poolOffset = perLocation.map((_, l) => l * 1_000_000);

  const endMs = scenario.seconds * 1000;
  const warmupMs = scenario.warmupSeconds * 1000;
  const outage = {
    from: warmupMs + (endMs - warmupMs) * 0.6,
    to: warmupMs + (endMs - warmupMs) * 0.6 + FLEET_OUTAGE_MS,
  };
  const fleet = newFleetWindow(0);
  const sessions = new Set<number>();
  const ages: number[] = [];
  const stats = { fleetCalls: 0, coordinatorCalls: 0, waited: 0, counted: 0, aggregated: 0, resent: 0, failed: 0 };
  const inWindow = (t: number) => t >= warmupMs && t < endMs;
  const queue = new EventQueue<Event>();

  for (let i = 0; i < n; i++) queue.push((random() / scenario.requestRate) * 1000, { kind: 'request', isolate: i });
  if (scenario.tier) queue.push(warmupMs + (endMs - warmupMs) * 0.4, { kind: 'restart', location: 0 });

  const scheduleReport = (i: number, t: number) => {
    if (reportDue[i] || tallies[i]!.isEmpty) return;
    reportDue[i] = 1;
    queue.push(Math.max(t, sentAt[i]! + TRAFFIC_REPORT_INTERVAL_MS), { kind: 'report', isolate: i });
  };
  const setAlarm = (l: number) => {
    const location = locations[l]!;
    const dueAt = location.relay.dueAt ?? null;
    if (dueAt === location.alarmAt) return;
    location.alarmAt = dueAt;
    location.alarmToken++;
    if (dueAt !== null) queue.push(dueAt, { kind: 'alarm', location: l, token: location.alarmToken });
  };
  const forward = (l: number, t: number) => {
    const location = locations[l]!;
    const sent = location.relay.startForward(t);
    if (!sent) return false;
    queue.push(t + location.rttMs / 2, {
      kind: 'forward-arrives',
      location: l,
      batch: sent.batch,
      incarnation: location.incarnation,
    });
    return true;
  };
  const answerOf = (location: Location, receipt: Receipt): Answer => ({
    incarnation: location.relay.incarnation,
    receipt,
    ledger: location.relay.ledger,
  });

  const handle = (t: number, event: Event) => {
    switch (event.kind) {
      case 'request': {
        const i = event.isolate;
        const l = home[i]!;
        if (scenario.tier) {
          const session = poolOffset[l]! + Math.floor(random() * perLocation[l]! * scenario.sessionsPerIsolate);
          const origin = `app-${(murmur3(String(session), 1) % scenario.origins) + 1}`;
          const counted = { origin, decision: 'pinned', status: 200, durationMs: 10, failures: [] } as const;
          tallies[i]!.count(counted, String(session), t);
          sessions.add(session);
          stats.counted++;
        }
        const age = t - takenAt[i]!;
        if (inWindow(t)) {
          ages.push(age);
          if (age >= maxAgeMs) stats.waited++;
          if (age >= maxAgeMs && Number.isNaN(waitingSince[i]!)) waitingSince[i] = t;
        }
        if (!refreshing[i] && (t - checkedAt[i]! >= refreshMs || age >= maxAgeMs)) {
          refreshing[i] = 1;
          checkedAt[i] = t;
          queue.push(t + LOCAL_HOP_MS, { kind: 'ask-snapshot', isolate: i });
        }
        scheduleReport(i, t);
        const next = t + exponential(1000 / scenario.requestRate, random);
        if (next < endMs) queue.push(next, { kind: 'request', isolate: i });
        return;
      }
      case 'ask-snapshot': {
        const l = home[event.isolate]!;
        const location = locations[l]!;
        if (inWindow(t)) location.snapshots++;
        const reply = (takenAt: number | undefined) =>
          queue.push(t + LOCAL_HOP_MS, { kind: 'snapshot', isolate: event.isolate, takenAt });
        if (!scenario.tier) {
          if (inWindow(t)) stats.coordinatorCalls++;
          const takenAt = t + location.rttMs / 2;
          return void queue.push(t + location.rttMs, { kind: 'snapshot', isolate: event.isolate, takenAt });
        }
        if (location.copy !== undefined && t - location.copy < relayedMs) return reply(location.copy);
        if (location.waiting) return void location.waiting.push(event.isolate);
        if (t - location.failedAt < SNAPSHOT_RETRY_AFTER_FAILURE_MS) return reply(location.copy);
        location.waiting = [event.isolate];
        if (inWindow(t)) stats.coordinatorCalls++;
        const at = t + location.rttMs / 2;
        queue.push(t + location.rttMs, {
          kind: 'coordinator-read',
          location: l,
          takenAt: at,
          incarnation: location.incarnation,
        });
        return;
      }
      case 'coordinator-read': {
        const location = locations[event.location]!;
        if (event.incarnation !== location.incarnation) return; // read by an incarnation that is gone
        if (location.copy === undefined || event.takenAt > location.copy) location.copy = event.takenAt;
        for (const i of location.waiting ?? [])
          queue.push(t + LOCAL_HOP_MS, { kind: 'snapshot', isolate: i, takenAt: location.copy });
        location.waiting = undefined;
        return;
      }
      case 'snapshot': {
        refreshing[event.isolate] = 0;
        if (!Number.isNaN(waitingSince[event.isolate]!)) {
          waits.push(Math.min(t - waitingSince[event.isolate]!, FRESH_SNAPSHOT_WAIT_MS));
          waitingSince[event.isolate] = Number.NaN;
        }
        if (event.takenAt !== undefined && event.takenAt > takenAt[event.isolate]!)
          takenAt[event.isolate] = event.takenAt;
        return;
      }
      case 'report': {
        const i = event.isolate;
        reportDue[i] = 0;
        if (tallies[i]!.isEmpty) return;
        sentAt[i] = t;
        queue.push(t + LOCAL_HOP_MS, { kind: 'relay', isolate: i, batch: tallies[i]!.drain() });
        return;
      }
      case 'relay': {
        const l = home[event.isolate]!;
        const location = locations[l]!;
        if (inWindow(t)) location.reports++;
        const receipt = location.relay.take(event.batch, { draining: false });
        const due = location.relay.dueAt;
        if (due !== undefined && due <= t && forward(l, t)) {
          location.inline.push({ isolate: event.isolate, batch: event.batch, receipt });
        } else {
          const answer = answerOf(location, receipt);
          queue.push(t + LOCAL_HOP_MS, { kind: 'relayed', isolate: event.isolate, batch: event.batch, answer });
        }
        setAlarm(l);
        return;
      }
      case 'relayed': {
        const i = event.isolate;
        if (!event.answer) {
          tallies[i]!.absorb(event.batch); // not taken: the object restarted under the call
        } else {
          const { lost } = unconfirmed[i]!.settle(event.answer, event.batch);
          for (const batch of lost) tallies[i]!.absorb(batch);
          stats.resent += lost.length;
        }
        // In the run, the next request schedules the report; after it, the last one's task does.
        if (t >= endMs) scheduleReport(i, t);
        return;
      }
      case 'alarm': {
        const location = locations[event.location]!;
        if (event.token !== location.alarmToken) return;
        location.alarmAt = null;
        forward(event.location, t);
        setAlarm(event.location);
        return;
      }
      case 'forward-arrives': {
        const location = locations[event.location]!;
        const ok = t < outage.from || t >= outage.to;
        if (ok) {
          mergeBatch(fleet, event.batch, t);
          stats.aggregated += requestsIn(event.batch);
        }
        if (inWindow(t)) stats.fleetCalls++;
        queue.push(t + location.rttMs / 2, {
          kind: 'forward-answered',
          location: event.location,
          ok,
          incarnation: event.incarnation,
        });
        return;
      }
      case 'forward-answered': {
        const location = locations[event.location]!;
        if (event.incarnation !== location.incarnation) return; // its object is gone: nothing stores the ledger
        if (event.ok) location.stored = location.relay.forwarded(t);
        else {
          location.relay.failed();
          stats.failed++;
        }
        for (const { isolate, batch, receipt } of location.inline.splice(0)) {
          queue.push(t + LOCAL_HOP_MS, { kind: 'relayed', isolate, batch, answer: answerOf(location, receipt) });
        }
        setAlarm(event.location);
        return;
      }
      case 'restart': {
        const l = event.location;
        const location = locations[l]!;
        location.incarnation++;
        location.relay = newRelay(l, location.incarnation, location.stored);
        location.copy = undefined;
        for (const i of location.waiting ?? []) queue.push(t, { kind: 'snapshot', isolate: i, takenAt: undefined });
        location.waiting = undefined;
        for (const { isolate, batch } of location.inline.splice(0)) {
          queue.push(t, { kind: 'relayed', isolate, batch, answer: undefined });
        }
        location.alarmAt = null;
        location.alarmToken++;
        return;
      }
    }
  };

  const stopAt = endMs + scenario.flushSeconds * 1000;
  for (let next = queue.pop(); next && next.at <= stopAt; next = queue.pop()) handle(next.at, next.event);

  const sortedAges = Float64Array.from(ages).sort();
  const busiest = locations[0]!;
  const windowSeconds = (endMs - warmupMs) / 1000;
  const sortedCounts = [...perLocation].sort((a, b) => a - b);
  return {
    scenario,
    isolatesPerLocation: { busiest: perLocation[0]!, median: sortedCounts[sortedCounts.length >> 1]! },
    fleetPerSecond: stats.fleetCalls / windowSeconds,
    coordinatorPerSecond: stats.coordinatorCalls / windowSeconds,
    directFleetPerSecond: n / (TRAFFIC_REPORT_INTERVAL_MS / 1000),
    directCoordinatorPerSecond: n / (refreshMs / 1000),
    busiestLocationPerSecond: {
      reports: busiest.reports / windowSeconds,
      snapshots: busiest.snapshots / windowSeconds,
    },
    snapshotAgeMs: {
      p50: percentile(sortedAges, 0.5),
      p99: percentile(sortedAges, 0.99),
      max: sortedAges[sortedAges.length - 1] ?? Number.NaN,
    },
    requestsThatWaited: stats.waited,
    waitMs: (() => {
      const sorted = Float64Array.from(waits).sort();
      return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
    })(),
    requestsAfterWarmup: ages.length,
    counted: stats.counted,
    aggregated: stats.aggregated,
    resentBatches: stats.resent,
    failedForwards: stats.failed,
    distinctSessions: sessions.size,
    estimatedSessions: fleetView(fleet, stopAt).activeSessionsTotal,
  };
}
