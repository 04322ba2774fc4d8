/**
 * What the simulated isolates and location objects of the tier simulation share: the events between
 * them (each a call, or its answer, arriving), the clock's windows and the counters. Neither side
 * touches the other's state: they meet through the event queue only, as the real ones meet through calls.
 */
import type { TrafficBatch } from '../worker/core/fleet/traffic-counts';
import type { Receipt, RelayLedger } from '../worker/core/fleet/traffic-relay';
import { EventQueue } from './event-queue';
import type { TierScenario } from './tier-simulation';

/** One way from an isolate to its location object, and back. */
export const LOCAL_HOP_MS = 1;

/** A location object's answer to a traffic report (location-protocol.ts's, without the load). */
export interface Answer {
  incarnation: string;
  receipt: Receipt;
  ledger: RelayLedger;
}

export type TierEvent =
  | { kind: 'request'; isolate: number }
  | { kind: 'ask-snapshot'; isolate: number }
  | { kind: 'snapshot'; isolate: number; takenAt: number | undefined }
  | { kind: 'coordinator-read'; location: number; takenAt: number; incarnation: number }
  | { kind: 'report'; isolate: number }
  | { kind: 'relay'; isolate: number; batch: TrafficBatch }
  /** The answer to a report; none when the object restarted under the call (the call failed). */
  | { kind: 'relayed'; isolate: number; batch: TrafficBatch; answer: Answer | undefined }
  | { kind: 'alarm'; location: number; token: number }
  | { kind: 'forward-arrives'; location: number; batch: TrafficBatch; incarnation: number }
  | { kind: 'forward-answered'; location: number; ok: boolean; incarnation: number }
  | { kind: 'restart'; location: number };

/** Whether an event arrives at an isolate (a request, an answer), rather than at a location object. */
export function isIsolateEvent(event: TierEvent): boolean {
  return event.kind === 'request' || event.kind === 'snapshot' || event.kind === 'report' || event.kind === 'relayed';
}

export interface TierCounters {
  fleetCalls: number;
  coordinatorCalls: number;
  waited: number;
  counted: number;
  aggregated: number;
  resent: number;
  failed: number;
}

export class TierWorld {
  readonly queue = new EventQueue<TierEvent>();
  readonly counters: TierCounters = {
    fleetCalls: 0,
    coordinatorCalls: 0,
    waited: 0,
    counted: 0,
    aggregated: 0,
    resent: 0,
    failed: 0,
  };
  readonly warmupMs: number;
  readonly endMs: number;

  constructor(
    readonly scenario: TierScenario,
    readonly random: () => number,
  ) {
    this.warmupMs = scenario.warmupSeconds * 1000;
    this.endMs = scenario.seconds * 1000;
  }

  /** After the warm-up and while the traffic runs: where the figures are taken. */
  inWindow(t: number): boolean {
    return t >= this.warmupMs && t < this.endMs;
  }

  /** `share` of the way through the measured window (the restart at 0.4, the aggregator's refusal at 0.6). */
  windowAt(share: number): number {
    return this.warmupMs + (this.endMs - this.warmupMs) * share;
  }
}
