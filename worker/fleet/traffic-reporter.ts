/**
 * This isolate's traffic tally and its reports to the fleet aggregator.
 *
 * Counting is a few additions per request in memory (core/traffic-counts.ts). Reports are coalesced:
 * one call per isolate per `reportIntervalMs` at most, always behind a response (`waitUntil`), never
 * in front of one. The first request with nothing scheduled schedules the next report at its due
 * time, inside its own `waitUntil`, so the last requests before a quiet spell are reported too (a
 * drain must see them) without waiting for another request to come along.
 *
 * A request to a draining origin makes the next report due within `drainReportIntervalMs` (1 s)
 * instead: "drained" is judged from the reports, so a session still in use must not look idle for
 * 10 s. It costs one call per second at most, only in isolates that serve a draining origin's sessions.
 *
 * The aggregator's answer carries the fleet's recent load per origin, kept here as `fleetLoad`.
 */
import type { Bindings } from '../bindings';
import type { FleetLoad } from '../core/fleet-figures';
import { TrafficTally, type CountedRequest } from '../core/traffic-counts';
import { fleetAggregatorOf } from '../health/monitor-client';
import { errorMessage, logEvent } from '../log';

/** How often an isolate reports its traffic, at most. */
export const TRAFFIC_REPORT_INTERVAL_MS = 10_000;
/** How often, at most, while it serves requests of a draining origin. */
export const DRAINING_TRAFFIC_REPORT_INTERVAL_MS = 1_000;
/**
 * A report due this long ago that has not gone out was lost with its task (the runtime may end a
 * `waitUntil` task, and then its timer never fires): the next request schedules another.
 */
export const LOST_REPORT_MS = 5_000;

export interface TrafficReporterOptions {
  /**
   * Milliseconds between two reports of this isolate.
   * @default TRAFFIC_REPORT_INTERVAL_MS (10 s)
   */
  reportIntervalMs?: number;
  /**
   * Milliseconds between two reports while requests to a draining origin are counted.
   * @default DRAINING_TRAFFIC_REPORT_INTERVAL_MS (1 s)
   */
  drainReportIntervalMs?: number;
}

/** How a counted request bears on the next report. */
export interface CountOptions {
  /** The request went to a draining origin: report it within the drain interval. @default false */
  draining?: boolean;
}

export class TrafficReporter {
  readonly #tally = new TrafficTally();
  readonly #intervalMs: number;
  readonly #drainIntervalMs: number;
  #sentAt = -Infinity;
  /** When the report scheduled next goes out (undefined: none is scheduled). */
  #dueAt?: number;
  #draining = false;
  #load?: FleetLoad;

  constructor({
    reportIntervalMs = TRAFFIC_REPORT_INTERVAL_MS,
    drainReportIntervalMs = DRAINING_TRAFFIC_REPORT_INTERVAL_MS,
  }: TrafficReporterOptions = {}) {
    this.#intervalMs = reportIntervalMs;
    this.#drainIntervalMs = Math.min(drainReportIntervalMs, reportIntervalMs);
  }

  /** How often, at most, this isolate reports while a draining origin's requests are counted or open. */
  get drainIntervalMs(): number {
    return this.#drainIntervalMs;
  }

  /**
   * Marks a draining origin in use at `now` by a request still open (http/open-request.ts): its last
   * request is dated then, and the next report is due within the drain interval.
   */
  touch(originId: string, now: number): void {
    this.#tally.touch(originId, now);
    this.#draining = true;
  }

  /** The fleet's recent load per origin, as the aggregator last answered; undefined before its first answer. */
  get fleetLoad(): FleetLoad | undefined {
    return this.#load;
  }

  count(
    request: CountedRequest,
    sessionId: string | undefined,
    now: number,
    { draining = false }: CountOptions = {},
  ): void {
    this.#tally.count(request, sessionId, now);
    if (draining) this.#draining = true;
  }

  /**
   * Schedules the next report behind this response, when there is something to report and no report
   * is due as soon. A report already waiting for a later time sends whatever is left when it wakes;
   * one that should have gone out more than LOST_REPORT_MS ago never will, and is not waited for.
   */
  scheduleReport(env: Bindings, now: number, background: (task: Promise<unknown>) => void): void {
    if (this.#tally.isEmpty) return;
    if (this.#dueAt !== undefined && now - this.#dueAt > LOST_REPORT_MS) this.#dueAt = undefined;
    const interval = this.#draining ? this.#drainIntervalMs : this.#intervalMs;
    const dueAt = Math.max(now, this.#sentAt + interval);
    if (this.#dueAt !== undefined && this.#dueAt <= dueAt) return;
    this.#dueAt = dueAt;
    background(this.#reportAfter(env, dueAt - now));
  }

  async #reportAfter(env: Bindings, delayMs: number): Promise<void> {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    // An earlier report (a drain's) may have taken everything meanwhile.
    if (this.#tally.isEmpty) return;
    const batch = this.#tally.drain();
    this.#sentAt = Date.now();
    // What is counted from now on goes into the next report, which the next request schedules.
    this.#dueAt = undefined;
    this.#draining = false;
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
