/**
 * The isolates of the tier simulation: each serves Poisson requests of its location's sessions,
 * counts them in its tally (the worker's own), refreshes its snapshot through its location object by
 * health-view.ts's rules (past the refresh age, or past the interval, when a request waits for it),
 * and reports its traffic by traffic-reporter.ts's: at most once per report interval, keeping each
 * batch until its location object vouches for it (the worker's own UnconfirmedBatches).
 */
import { FRESH_SNAPSHOT_WAIT_MS } from '../worker/core/health/snapshot-age';
import { murmur3 } from '../worker/core/routing/hash';
import { exponential } from './overload/overload-scenario';
import { TrafficTally } from '../worker/core/fleet/traffic-counts';
import { MAX_UNCONFIRMED_BATCHES, UnconfirmedBatches } from '../worker/core/fleet/traffic-relay';
import { TRAFFIC_REPORT_INTERVAL_MS } from '../worker/monitor/fleet-protocol';
import { LOCAL_HOP_MS, type TierEvent, type TierWorld } from './tier-world';

/** The snapshot ages health-view.ts goes by (core/health/snapshot-age.ts). */
export interface SnapshotRule {
  refreshMs: number;
  maxAgeMs: number;
}

export class SimulatedIsolates {
  readonly count: number;
  /** Age of the snapshot each request after the warm-up routed by, and how long those that waited waited. */
  readonly ages: number[] = [];
  readonly waits: number[] = [];
  readonly sessions = new Set<number>();
  readonly #tallies: TrafficTally[];
  readonly #unconfirmed: UnconfirmedBatches[];
  readonly #takenAt: Float64Array;
  readonly #checkedAt: Float64Array;
  readonly #refreshing: Uint8Array;
  readonly #sentAt: Float64Array;
  readonly #reportDue: Uint8Array;
  readonly #waitingSince: Float64Array;

  constructor(
    private readonly world: TierWorld,
    /** The location of each isolate. */
    readonly home: readonly number[],
    private readonly perLocation: readonly number[],
    private readonly rule: SnapshotRule,
  ) {
    const n = (this.count = home.length);
    this.#tallies = home.map(() => new TrafficTally());
    this.#unconfirmed = home.map(() => new UnconfirmedBatches(MAX_UNCONFIRMED_BATCHES));
    this.#takenAt = new Float64Array(n).fill(-Infinity);
    this.#checkedAt = new Float64Array(n).fill(-Infinity);
    this.#refreshing = new Uint8Array(n);
    this.#sentAt = new Float64Array(n).fill(-Infinity);
    this.#reportDue = new Uint8Array(n);
    this.#waitingSince = new Float64Array(n).fill(Number.NaN);
  }

  /** Each isolate's first request, somewhere in its first mean gap. */
  start(): void {
    const { world } = this;
    for (let i = 0; i < this.count; i++) {
      world.queue.push((world.random() / world.scenario.requestRate) * 1000, { kind: 'request', isolate: i });
    }
  }

  handle(t: number, event: TierEvent): void {
    if (event.kind === 'request') this.#request(t, event.isolate);
    else if (event.kind === 'snapshot') this.#snapshot(t, event.isolate, event.takenAt);
    else if (event.kind === 'report') this.#report(t, event.isolate);
    else if (event.kind === 'relayed') this.#relayed(t, event);
  }

  #request(t: number, i: number): void {
    const { world, rule } = this;
    if (world.scenario.tier) this.#count(t, i);
    const age = t - this.#takenAt[i]!;
    if (world.inWindow(t)) {
      this.ages.push(age);
      if (age >= rule.maxAgeMs) world.counters.waited++;
      if (age >= rule.maxAgeMs && Number.isNaN(this.#waitingSince[i]!)) this.#waitingSince[i] = t;
    }
    if (!this.#refreshing[i] && (t - this.#checkedAt[i]! >= rule.refreshMs || age >= rule.maxAgeMs)) {
      this.#refreshing[i] = 1;
      this.#checkedAt[i] = t;
      world.queue.push(t + LOCAL_HOP_MS, { kind: 'ask-snapshot', isolate: i });
    }
    this.#scheduleReport(i, t);
    const next = t + exponential(1000 / world.scenario.requestRate, world.random);
    if (next < world.endMs) world.queue.push(next, { kind: 'request', isolate: i });
  }

  /** One request of a session of the isolate's location, pinned to the origin its key hashes to. */
  #count(t: number, i: number): void {
    const { scenario, random, counters } = this.world;
    const l = this.home[i]!;
    const session = l * 1_000_000 + Math.floor(random() * this.perLocation[l]! * scenario.sessionsPerIsolate);
    const origin = `app-${(murmur3(String(session), 1) % scenario.origins) + 1}`;
    const counted = { origin, decision: 'pinned', status: 200, durationMs: 10, failures: [] } as const;
    this.#tallies[i]!.count(counted, String(session), t);
    this.sessions.add(session);
    counters.counted++;
  }

  #snapshot(t: number, i: number, takenAt: number | undefined): void {
    this.#refreshing[i] = 0;
    if (!Number.isNaN(this.#waitingSince[i]!)) {
      this.waits.push(Math.min(t - this.#waitingSince[i]!, FRESH_SNAPSHOT_WAIT_MS));
      this.#waitingSince[i] = Number.NaN;
    }
    if (takenAt !== undefined && takenAt > this.#takenAt[i]!) this.#takenAt[i] = takenAt;
  }

  #scheduleReport(i: number, t: number): void {
    if (this.#reportDue[i] || this.#tallies[i]!.isEmpty) return;
    this.#reportDue[i] = 1;
    const at = Math.max(t, this.#sentAt[i]! + TRAFFIC_REPORT_INTERVAL_MS);
    this.world.queue.push(at, { kind: 'report', isolate: i });
  }

  #report(t: number, i: number): void {
    this.#reportDue[i] = 0;
    if (this.#tallies[i]!.isEmpty) return;
    this.#sentAt[i] = t;
    this.world.queue.push(t + LOCAL_HOP_MS, { kind: 'relay', isolate: i, batch: this.#tallies[i]!.drain() });
  }

  #relayed(t: number, { isolate: i, batch, answer }: Extract<TierEvent, { kind: 'relayed' }>): void {
    if (!answer) {
      this.#tallies[i]!.absorb(batch); // not taken: the object restarted under the call
    } else {
      const { lost } = this.#unconfirmed[i]!.settle(answer, batch);
      for (const again of lost) this.#tallies[i]!.absorb(again);
      this.world.counters.resent += lost.length;
    }
    // In the run, the next request schedules the report; after it, the last one's task does.
    if (t >= this.world.endMs) this.#scheduleReport(i, t);
  }
}
