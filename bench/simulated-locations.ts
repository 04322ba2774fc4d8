/**
 * The location objects of the tier simulation, with the global objects behind them: each keeps the
 * coordinator's snapshot by snapshot-relay.ts's rules (one read at a time, the copy handed out while
 * younger than the relayed age, a pause after a failure) and relays its isolates' reports with the
 * worker's own TrafficRelay, by traffic-forwarder.ts's rules (the alarm at `dueAt`, a due forward sent
 * before answering the report that found it due, the ledger stored once the aggregator answered). The
 * aggregator merges forwards into the worker's own fleet window, and refuses them for a while; an
 * object can be restarted, losing its memory and keeping its stored ledger.
 *
 * In the design before the tier (`scenario.tier` false) an isolate's snapshot read goes to the
 * coordinator itself, over its location's round trip.
 */
import { mergeBatch, newFleetWindow } from '../worker/core/fleet/fleet-window';
import type { TrafficBatch } from '../worker/core/fleet/traffic-counts';
import { TrafficRelay, type Receipt, type RelayLedger } from '../worker/core/fleet/traffic-relay';
import {
  LOCATION_DRAIN_FORWARD_INTERVAL_MS,
  LOCATION_FORWARD_INTERVAL_MS,
  SNAPSHOT_RETRY_AFTER_FAILURE_MS,
} from '../worker/monitor/location-protocol';
import { LOCAL_HOP_MS, type Answer, type TierEvent, type TierWorld } from './tier-world';

const FLEET_REFUSAL_MS = 3_000;

interface Location {
  /** Round trip to the global objects. */
  rttMs: number;
  relay: TrafficRelay;
  incarnation: number;
  stored: RelayLedger;
  /** The coordinator's `takenAt` of the copy it keeps. */
  copy?: number;
  /** Isolates waiting for the coordinator read under way. */
  waiting?: number[];
  failedAt: number;
  alarmToken: number;
  alarmAt: number | null;
  /** Reports that found a forward due wait for its answer. */
  inline: { isolate: number; batch: TrafficBatch; receipt: Receipt }[];
  /** Calls after the warm-up. */
  reports: number;
  snapshots: number;
}

const requestsIn = (batch: TrafficBatch) => Object.values(batch.origins).reduce((sum, c) => sum + c.requests, 0);

export class SimulatedLocations {
  readonly fleet = newFleetWindow(0);
  readonly #locations: Location[];
  readonly #refusal: { from: number; to: number };

  constructor(
    private readonly world: TierWorld,
    count: number,
    /** The isolate's location, by isolate. */
    private readonly home: readonly number[],
    /** Snapshot age up to which a location object hands its copy out. */
    private readonly relayedMs: number,
  ) {
    this.#locations = Array.from({ length: count }, (_, l) => ({
      rttMs: 20 + world.random() * 230,
      relay: this.#newRelay(l, 0, {}),
      incarnation: 0,
      stored: {},
      failedAt: -Infinity,
      alarmToken: 0,
      alarmAt: null,
      inline: [],
      reports: 0,
      snapshots: 0,
    }));
    this.#refusal = { from: world.windowAt(0.6), to: world.windowAt(0.6) + FLEET_REFUSAL_MS };
  }

  /** Calls per second to location `l`'s object after the warm-up. */
  callsTo(l: number, seconds: number): { reports: number; snapshots: number } {
    const location = this.#locations[l]!;
    return { reports: location.reports / seconds, snapshots: location.snapshots / seconds };
  }

  handle(t: number, event: TierEvent): void {
    if (event.kind === 'ask-snapshot') this.#askSnapshot(t, event.isolate);
    else if (event.kind === 'coordinator-read') this.#coordinatorRead(t, event);
    else if (event.kind === 'relay') this.#relay(t, event.isolate, event.batch);
    else if (event.kind === 'alarm') this.#alarm(t, event.location, event.token);
    else if (event.kind === 'forward-arrives') this.#forwardArrives(t, event);
    else if (event.kind === 'forward-answered') this.#forwardAnswered(t, event);
    else if (event.kind === 'restart') this.#restart(t, event.location);
  }

  #newRelay(l: number, incarnation: number, stored: RelayLedger): TrafficRelay {
    const timing = { intervalMs: LOCATION_FORWARD_INTERVAL_MS, drainIntervalMs: LOCATION_DRAIN_FORWARD_INTERVAL_MS };
    const phaseMs = this.world.random() * LOCATION_FORWARD_INTERVAL_MS;
    return new TrafficRelay(`${l}.${incarnation}`, stored, { ...timing, phaseMs });
  }

  #askSnapshot(t: number, isolate: number): void {
    const { world } = this;
    const l = this.home[isolate]!;
    const location = this.#locations[l]!;
    if (world.inWindow(t)) location.snapshots++;
    const reply = (takenAt: number | undefined) =>
      world.queue.push(t + LOCAL_HOP_MS, { kind: 'snapshot', isolate, takenAt });
    if (!world.scenario.tier) {
      if (world.inWindow(t)) world.counters.coordinatorCalls++;
      const takenAt = t + location.rttMs / 2;
      return world.queue.push(t + location.rttMs, { kind: 'snapshot', isolate, takenAt });
    }
    if (location.copy !== undefined && t - location.copy < this.relayedMs) return reply(location.copy);
    if (location.waiting) return void location.waiting.push(isolate);
    if (t - location.failedAt < SNAPSHOT_RETRY_AFTER_FAILURE_MS) return reply(location.copy);
    location.waiting = [isolate];
    if (world.inWindow(t)) world.counters.coordinatorCalls++;
    const { incarnation, rttMs } = location;
    world.queue.push(t + rttMs, { kind: 'coordinator-read', location: l, takenAt: t + rttMs / 2, incarnation });
  }

  #coordinatorRead(t: number, event: Extract<TierEvent, { kind: 'coordinator-read' }>): void {
    const location = this.#locations[event.location]!;
    if (event.incarnation !== location.incarnation) return; // read by an incarnation that is gone
    if (location.copy === undefined || event.takenAt > location.copy) location.copy = event.takenAt;
    for (const isolate of location.waiting ?? []) {
      this.world.queue.push(t + LOCAL_HOP_MS, { kind: 'snapshot', isolate, takenAt: location.copy });
    }
    location.waiting = undefined;
  }

  #relay(t: number, isolate: number, batch: TrafficBatch): void {
    const l = this.home[isolate]!;
    const location = this.#locations[l]!;
    if (this.world.inWindow(t)) location.reports++;
    const receipt = location.relay.take(batch, { draining: false });
    const due = location.relay.dueAt;
    if (due !== undefined && due <= t && this.#forward(l, t)) {
      location.inline.push({ isolate, batch, receipt });
    } else {
      const answer = answerOf(location, receipt);
      this.world.queue.push(t + LOCAL_HOP_MS, { kind: 'relayed', isolate, batch, answer });
    }
    this.#setAlarm(l);
  }

  #alarm(t: number, l: number, token: number): void {
    const location = this.#locations[l]!;
    if (token !== location.alarmToken) return;
    location.alarmAt = null;
    this.#forward(l, t);
    this.#setAlarm(l);
  }

  #forward(l: number, t: number): boolean {
    const location = this.#locations[l]!;
    const sent = location.relay.startForward(t);
    if (!sent) return false;
    const { incarnation } = location;
    this.world.queue.push(t + location.rttMs / 2, {
      kind: 'forward-arrives',
      location: l,
      batch: sent.batch,
      incarnation,
    });
    return true;
  }

  #forwardArrives(t: number, event: Extract<TierEvent, { kind: 'forward-arrives' }>): void {
    const { world } = this;
    const ok = t < this.#refusal.from || t >= this.#refusal.to;
    if (ok) {
      mergeBatch(this.fleet, event.batch, t);
      world.counters.aggregated += requestsIn(event.batch);
    }
    if (world.inWindow(t)) world.counters.fleetCalls++;
    const { location: l, incarnation } = event;
    world.queue.push(t + this.#locations[l]!.rttMs / 2, { kind: 'forward-answered', location: l, ok, incarnation });
  }

  #forwardAnswered(t: number, event: Extract<TierEvent, { kind: 'forward-answered' }>): void {
    const location = this.#locations[event.location]!;
    if (event.incarnation !== location.incarnation) return; // its object is gone: nothing stores the ledger
    if (event.ok) location.stored = location.relay.forwarded(t);
    else {
      location.relay.failed();
      this.world.counters.failed++;
    }
    for (const { isolate, batch, receipt } of location.inline.splice(0)) {
      this.world.queue.push(t + LOCAL_HOP_MS, { kind: 'relayed', isolate, batch, answer: answerOf(location, receipt) });
    }
    this.#setAlarm(event.location);
  }

  /** The object loses its memory (held reports, copy, waiting calls); its stored ledger stays. */
  #restart(t: number, l: number): void {
    const location = this.#locations[l]!;
    location.incarnation++;
    location.relay = this.#newRelay(l, location.incarnation, location.stored);
    location.copy = undefined;
    for (const isolate of location.waiting ?? []) {
      this.world.queue.push(t, { kind: 'snapshot', isolate, takenAt: undefined });
    }
    location.waiting = undefined;
    for (const { isolate, batch } of location.inline.splice(0)) {
      this.world.queue.push(t, { kind: 'relayed', isolate, batch, answer: undefined });
    }
    location.alarmAt = null;
    location.alarmToken++;
  }

  #setAlarm(l: number): void {
    const location = this.#locations[l]!;
    const dueAt = location.relay.dueAt ?? null;
    if (dueAt === location.alarmAt) return;
    location.alarmAt = dueAt;
    location.alarmToken++;
    if (dueAt !== null) this.world.queue.push(dueAt, { kind: 'alarm', location: l, token: location.alarmToken });
  }
}

function answerOf(location: Location, receipt: Receipt): Answer {
  return { incarnation: location.relay.incarnation, receipt, ledger: location.relay.ledger };
}
