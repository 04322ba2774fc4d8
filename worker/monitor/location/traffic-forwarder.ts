/**
 * A location object's side of the traffic reports: takes its isolates' batches (core/fleet/traffic-relay.ts
 * merges them and says when to forward), forwards the merged batch to the fleet aggregator on the
 * object's alarm, and stores the ledger after every forward the aggregator took, so that an
 * incarnation started later can tell isolates which of their batches went out.
 *
 * The alarm is set for when the next forward is due. A report that finds a forward due (the first
 * after a quiet interval) sends it before answering, so a quiet location's figures are not held back
 * an interval, and its isolate learns at once that its batch went out; any other report is answered
 * at once, with its receipt, the ledger and the fleet's load from the last forward. The one storage
 * write is per forward (at most once per 10 s), never per report. A location object plays no other
 * role, so its alarm is only ever set for the next forward: when it rings, a forward is due.
 */
import type { Bindings } from '../../bindings';
import type { FleetLoad } from '../../core/fleet/fleet-figures';
import type { TrafficBatch } from '../../core/fleet/traffic-counts';
import { TrafficRelay, type RelayLedger } from '../../core/fleet/traffic-relay';
import { fleetAggregatorOf } from '../monitor-client';
import type { MonitorStorage } from '../monitor-storage';
import { errorMessage, logEvent } from '../../log';
import {
  LOCATION_DRAIN_FORWARD_INTERVAL_MS,
  LOCATION_FORWARD_INTERVAL_MS,
  type RelayAnswer,
} from '../location-protocol';

export class TrafficForwarder {
  #relay?: TrafficRelay;
  #load?: FleetLoad;
  /** When the alarm is set to ring (null: it is not set). */
  #alarmAt: number | null = null;

  constructor(
    private readonly storage: MonitorStorage,
    private readonly env: Bindings,
    /** Drawn when the object starts: receipts of an earlier start are told apart by it. */
    private readonly incarnation: string,
    /** Drawn when the object starts: where in the interval its forwards fall (core/fleet/traffic-relay.ts). */
    private readonly phaseMs: number,
  ) {}

  /** Takes the stored ledger back; called once when the object starts, before any call is let in. */
  restore(ledger: RelayLedger | undefined): void {
    this.#relay = new TrafficRelay(this.incarnation, ledger ?? {}, {
      intervalMs: LOCATION_FORWARD_INTERVAL_MS,
      drainIntervalMs: LOCATION_DRAIN_FORWARD_INTERVAL_MS,
      phaseMs: this.phaseMs,
    });
  }

  /** One isolate's batch in; where it went, what went out before, and the fleet's load out. */
  async relayTraffic(batch: TrafficBatch, options: { draining: boolean }): Promise<RelayAnswer> {
    const relay = this.#restored();
    const receipt = relay.take(batch, options);
    const now = Date.now();
    const forward = relay.dueAt !== undefined && relay.dueAt <= now ? relay.startForward(now) : undefined;
    if (forward) await this.#send(relay, forward);
    await this.#setAlarm(relay);
    return { incarnation: relay.incarnation, receipt, ledger: relay.ledger, load: this.#load };
  }

  /** The alarm: forwards what is pending (its time has come), then sets the alarm for what came meanwhile. */
  async forward(): Promise<void> {
    const relay = this.#relay;
    if (!relay) return;
    this.#alarmAt = null;
    const forward = relay.startForward(Date.now());
    if (forward) await this.#send(relay, forward);
    await this.#setAlarm(relay);
  }

  async #send(relay: TrafficRelay, forward: { round: number; batch: TrafficBatch }): Promise<void> {
    try {
      this.#load = await fleetAggregatorOf(this.env.HEALTH_MONITOR).recordTraffic(forward.batch);
    } catch (error) {
      relay.failed();
      logEvent('warn', 'location.forward-failed', { error: errorMessage(error), round: forward.round });
      return;
    }
    // The batch went out whatever happens to this write, which only lets a later incarnation vouch for it.
    const ledger = relay.forwarded(Date.now());
    await this.storage.write({ relayLedger: ledger }).catch((error: unknown) => {
      logEvent('warn', 'location.ledger-write-failed', { error: errorMessage(error), round: forward.round });
    });
  }

  #restored(): TrafficRelay {
    if (!this.#relay) throw new Error('TrafficForwarder: restore() is called when the object starts');
    return this.#relay;
  }

  /** The alarm at the next forward's time, or none while nothing waits (or a forward is under way). */
  async #setAlarm(relay: TrafficRelay): Promise<void> {
    const dueAt = relay.dueAt ?? null;
    if (dueAt === this.#alarmAt) return;
    this.#alarmAt = dueAt;
    await (dueAt === null ? this.storage.deleteAlarm() : this.storage.setAlarm(dueAt));
  }
}
