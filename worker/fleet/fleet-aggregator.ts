/**
 * The fleet aggregator role: merges every isolate's traffic reports into recent buckets
 * (core/fleet-window.ts) and answers each admin route with what it shows (core/fleet-answers.ts).
 *
 * Memory is the working copy; storage keeps the totals (Prometheus counters, `lastRequestAt`), written
 * at most once per `PERSIST_INTERVAL_MS` and not awaited by the reporting isolate beyond the write
 * itself. A restarted object keeps counting from its stored totals, and its recent buckets start
 * empty: `watchingSince` says so, and "drained" waits for a full idle period of its own watching.
 */
import {
  fleetMetrics,
  fleetStatus,
  originFleetFacts,
  type FleetMetrics,
  type FleetStatus,
  type OriginFleetFacts,
} from '../core/fleet-answers';
import { fleetLoad, type FleetLoad } from '../core/fleet-figures';
import { fleetView, mergeBatch, newFleetWindow, type FleetTotals, type FleetWindow } from '../core/fleet-window';
import type { TrafficBatch } from '../core/traffic-counts';
import type { MonitorStorage } from '../health/monitor-storage';

/** How often, at most, the totals are written to storage. */
export const PERSIST_INTERVAL_MS = 10_000;
/** How long one computed load answer serves every report (merging sketches is the costly part). */
export const LOAD_CACHE_MS = 1_000;

export class FleetAggregator {
  #window?: FleetWindow;
  #persistedAt = -Infinity;
  #load?: FleetLoad;

  constructor(private readonly storage: MonitorStorage) {}

  /** Takes the stored totals back; called once when the object starts. */
  restore(totals: FleetTotals | undefined, now: number): void {
    if (totals) this.#window = newFleetWindow(now, totals);
  }

  /** One isolate's batch in; the fleet's recent load per origin out. */
  async recordTraffic(batch: TrafficBatch): Promise<FleetLoad> {
    const now = Date.now();
    const window = this.#windowAt(now);
    mergeBatch(window, batch, now);
    if (now - this.#persistedAt >= PERSIST_INTERVAL_MS) {
      this.#persistedAt = now;
      await this.storage.write({ fleet: window.totals });
    }
    if (!this.#load || now - this.#load.takenAt >= LOAD_CACHE_MS) this.#load = fleetLoad(fleetView(window, now));
    return this.#load;
  }

  status(ids: readonly string[]): FleetStatus {
    const now = Date.now();
    return fleetStatus(fleetView(this.#windowAt(now), now), ids);
  }

  origin(id: string): OriginFleetFacts {
    const now = Date.now();
    return originFleetFacts(fleetView(this.#windowAt(now), now), id);
  }

  metrics(): FleetMetrics {
    const now = Date.now();
    const window = this.#windowAt(now);
    return fleetMetrics(fleetView(window, now), window.totals);
  }

  #windowAt(now: number): FleetWindow {
    return (this.#window ??= newFleetWindow(now));
  }
}
