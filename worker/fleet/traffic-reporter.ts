/**
 * This isolate's traffic tally and its reports to the fleet aggregator, through the object of its
 * location, which merges the reports of its isolates and forwards them once per 10 s
 * (monitor/location/traffic-forwarder.ts).
 *
 * Counting is a few additions per request in memory (core/fleet/traffic-counts.ts). Reports are coalesced:
 * one call per isolate per `reportIntervalMs` at most, always behind a response (`waitUntil`), never
 * in front of one. The first request with nothing scheduled schedules the next report at its due
 * time, inside its own `waitUntil`, so the last requests before a quiet spell are reported too (a
 * drain must see them) without waiting for another request to come along.
 *
 * A request to a draining origin makes the next report due within `drainReportIntervalMs` (1 s)
 * instead: "drained" is judged from the reports, so a session still in use must not look idle for
 * 10 s. It costs one call per second at most, only in isolates that serve a draining origin's sessions.
 *
 * The location object answers at once, with the fleet's recent load per origin from its last forward
 * (kept here as `fleetLoad`) and a receipt. This isolate keeps each batch until an answer says the
 * round it went into was forwarded, and takes back into its tally any batch whose location object was
 * restarted before forwarding it, or that the location object never took (core/fleet/traffic-relay.ts): a
 * restart loses nothing and counts nothing twice. At most MAX_UNCONFIRMED_BATCHES are kept: past that
 * the oldest is let go (logged), since a location that has answered nothing for that long has most
 * likely forwarded it already or lost it for good.
 */
import type { FleetLoad } from '../core/fleet/fleet-figures';
import { TrafficTally, type CountedRequest, type TrafficBatch } from '../core/fleet/traffic-counts';
import { MAX_UNCONFIRMED_BATCHES, UnconfirmedBatches } from '../core/fleet/traffic-relay';
import { DRAINING_TRAFFIC_REPORT_INTERVAL_MS, TRAFFIC_REPORT_INTERVAL_MS } from '../monitor/fleet-protocol';
import type { LocationObject } from '../monitor/monitor-client';
import type { RelayAnswer } from '../monitor/location-protocol';
import { errorMessage, logEvent } from '../log';

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
  /** Batches handed to the location object that it has not yet said it forwarded. */
  readonly #unconfirmed = new UnconfirmedBatches(MAX_UNCONFIRMED_BATCHES);

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

  /** The fleet's recent load per origin, as the location object last answered; undefined before it had one. */
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
  scheduleReport(location: () => LocationObject, now: number, background: (task: Promise<unknown>) => void): void {
    if (this.#tally.isEmpty) return;
    if (this.#dueAt !== undefined && now - this.#dueAt > LOST_REPORT_MS) this.#dueAt = undefined;
    const interval = this.#draining ? this.#drainIntervalMs : this.#intervalMs;
    const dueAt = Math.max(now, this.#sentAt + interval);
    if (this.#dueAt !== undefined && this.#dueAt <= dueAt) return;
    this.#dueAt = dueAt;
    background(this.#reportAfter(location, dueAt - now));
  }

  /** How many batches wait for their location object to say they went out. */
  get unconfirmed(): number {
    return this.#unconfirmed.size;
  }

  async #reportAfter(location: () => LocationObject, delayMs: number): Promise<void> {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    // An earlier report (a drain's) may have taken everything meanwhile.
    if (this.#tally.isEmpty) return;
    const batch = this.#tally.drain();
    this.#sentAt = Date.now();
    // What is counted from now on goes into the next report, which the next request schedules.
    const draining = this.#draining;
    this.#dueAt = undefined;
    this.#draining = false;
    try {
      this.#settle(await location().relayTraffic(batch, { draining }), batch);
    } catch (error) {
      // Not taken (the object could not be reached, or restarted meanwhile): it goes with the next report.
      // Only an answer lost after the object took the batch would count it twice, and nothing can tell.
      this.#tally.absorb(batch);
      logEvent('warn', 'fleet.report-failed', {
        error: errorMessage(error),
        origins: Object.keys(batch.origins).length,
      });
    }
  }

  #settle(answer: RelayAnswer, batch: TrafficBatch): void {
    if (answer.load) this.#load = answer.load;
    const { lost, dropped } = this.#unconfirmed.settle(answer, batch);
    for (const again of lost) this.#tally.absorb(again);
    if (dropped > 0) logEvent('warn', 'fleet.report-unconfirmed', { dropped });
  }
}
