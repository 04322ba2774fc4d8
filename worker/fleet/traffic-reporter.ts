/**
 * This isolate's traffic tally and its reports to the fleet aggregator.
 *
 * Counting is a few additions per request in memory (core/traffic-counts.ts). Reports are coalesced:
 * one call per isolate per `reportIntervalMs` at most, always behind a response (`waitUntil`), never
 * in front of one. The first request with nothing scheduled schedules the next report at its due
 * time, inside its own `waitUntil`, so the last requests before a quiet spell are reported too (a
 * drain must see them) without waiting for another request to come along.
 *
 * The aggregator's answer carries the fleet's recent load per origin, kept here as `fleetLoad`.
 */
import type { Bindings } from '../bindings';
import type { FleetLoad } from '../core/fleet-figures';
import { TrafficTally, type CountedRequest } from '../core/traffic-counts';
import { fleetAggregatorOf } from '../health/monitor-client';
import { errorMessage, logEvent } from '../log';

/** How often an isolate reports its traffic, at most. */
export const REPORT_INTERVAL_MS = 10_000;

export interface TrafficReporterOptions {
  /**
   * Milliseconds between two reports of this isolate.
   * @default REPORT_INTERVAL_MS (10 s)
   */
  reportIntervalMs?: number;
}

export class TrafficReporter {
  readonly #tally = new TrafficTally();
  readonly #intervalMs: number;
  #sentAt = -Infinity;
  #scheduled = false;
  #load?: FleetLoad;

  constructor({ reportIntervalMs = REPORT_INTERVAL_MS }: TrafficReporterOptions = {}) {
    this.#intervalMs = reportIntervalMs;
  }

  /** The fleet's recent load per origin, as the aggregator last answered; undefined before its first answer. */
  get fleetLoad(): FleetLoad | undefined {
    return this.#load;
  }

  count(request: CountedRequest, sessionId: string, now: number): void {
    this.#tally.count(request, sessionId, now);
  }

  /** Schedules the next report behind this response, when there is something to report and none is scheduled. */
  scheduleReport(env: Bindings, now: number, background: (task: Promise<unknown>) => void): void {
    if (this.#scheduled || this.#tally.isEmpty) return;
    this.#scheduled = true;
    const delay = Math.max(0, this.#sentAt + this.#intervalMs - now);
    background(this.#reportAfter(env, delay));
  }

  async #reportAfter(env: Bindings, delayMs: number): Promise<void> {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const batch = this.#tally.drain();
    this.#sentAt = Date.now();
    // What is counted from now on goes into the next report, which the next request schedules.
    this.#scheduled = false;
    try {
      this.#load = await fleetAggregatorOf(env.HEALTH_MONITOR).recordTraffic(batch);
    } catch (error) {
      // The batch is lost: the fleet's counts miss it, and nothing else depends on it.
      logEvent('warn', 'fleet.report-failed', {
        error: errorMessage(error),
        origins: Object.keys(batch.origins).length,
      });
    }
  }
}
