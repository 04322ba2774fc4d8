/**
 * The fleet aggregator role: merges every isolate's traffic reports into recent buckets
 * (core/fleet/fleet-window.ts) and answers each admin route with what it shows (core/fleet/fleet-answers.ts).
 *
 * Memory is the working copy; storage keeps the totals (Prometheus counters, `lastRequestAt`). A
 * report marks them unstored and, if none is set, sets the object's alarm PERSIST_INTERVAL_MS ahead;
 * the alarm stores them. So totals reach storage within that time whether more reports come or not
 * (an idle object is evicted only after its alarm ran), and a report never waits for a write.
 *
 * The metrics export the totals as stored, never the ones in memory: what a restart (a deploy, a
 * crash) loses is what was counted since the last write, and an exported value was always written
 * first, so a counter never goes back. The cost: counters are up to PERSIST_INTERVAL_MS behind.
 *
 * The same alarm stores the recent buckets that changed since the last write, and the time the window
 * has watched since: an object evicted after a quiet minute (or restarted by a deploy) answers with
 * the same active sessions, chart and `watchingSince` as before, losing at most the last
 * PERSIST_INTERVAL_MS of reports. An object that never stored a window starts watching anew, and
 * "drained" waits for a full idle period of its own watching.
 */
import { readConfig } from '../../config/config-source';
import {
  fleetMetrics,
  fleetStatus,
  originFleetFacts,
  type FleetMetrics,
  type FleetStatus,
  type OriginFleetFacts,
} from '../../core/fleet/fleet-answers';
import { fleetLoad, type FleetLoad } from '../../core/fleet/fleet-figures';
import { retireRemovedOrigins } from '../../core/fleet/fleet-retention';
import {
  bucketsChangedSince,
  fleetView,
  isCurrent,
  mergeBatch,
  newFleetWindow,
  restoreFleetWindow,
  type FleetTotals,
  type FleetWindow,
  type StoredBucket,
} from '../../core/fleet/fleet-window';
import type { TrafficBatch } from '../../core/fleet/traffic-counts';
import type { MonitorStorage } from '../monitor-storage';
import { logEvent } from '../../log';
import { PERSIST_INTERVAL_MS } from '../fleet-protocol';

/** How often, at most, the totals of origins gone from the configuration are looked for (one KV read). */
export const RETIREMENT_CHECK_MS = 5 * 60_000;
/** How long one computed load answer serves every report (merging sketches is the costly part). */
export const LOAD_CACHE_MS = 1_000;

export class FleetAggregator {
  #window?: FleetWindow;
  /** The totals as storage holds them: what the metrics export. */
  #stored?: FleetTotals;
  /** Whether the alarm is set to store the totals. */
  #storeDue = false;
  /** When the first report not yet stored arrived: the buckets from then on have changed. */
  #unstoredSince?: number;
  /** The buckets storage holds, to remove each once it has left the window. */
  #storedBuckets: Pick<StoredBucket, 'kind' | 'start'>[] = [];
  #retirementCheckedAt = -Infinity;
  #load?: FleetLoad;

  constructor(
    private readonly storage: MonitorStorage,
    /** The configuration's home, read for the ids it still has (fleet-retention.ts). */
    private readonly kv: KVNamespace,
  ) {}

  /** Takes the stored totals and window back; called once when the object starts. */
  async restore(totals: FleetTotals | undefined, watchingSince: number | undefined, now: number): Promise<void> {
    if (!totals) return;
    const buckets = await this.storage.readFleetBuckets();
    this.#window = restoreFleetWindow(now, { totals, watchingSince, buckets });
    this.#storedBuckets = buckets.map(({ kind, start }) => ({ kind, start }));
    this.#stored = structuredClone(totals);
  }

  /** One isolate's batch in; the fleet's recent load per origin out. */
  async recordTraffic(batch: TrafficBatch): Promise<FleetLoad> {
    const now = Date.now();
    const window = this.#windowAt(now);
    mergeBatch(window, batch, now);
    this.#unstoredSince ??= now;
    if (!this.#storeDue) {
      await this.storage.setAlarm(now + PERSIST_INTERVAL_MS);
      this.#storeDue = true;
    }
    if (!this.#load || now - this.#load.takenAt >= LOAD_CACHE_MS) this.#load = fleetLoad(fleetView(window, now));
    return this.#load;
  }

  /**
   * The alarm: stores the totals (after retiring origins long gone from the configuration) and the
   * buckets changed since the last write, and removes the stored buckets past the window. Nothing
   * to do in an object that counts no traffic: the probing objects share this class and its alarm.
   */
  async storeTotals(): Promise<void> {
    const window = this.#window;
    if (!window) return;
    this.#storeDue = false;
    const now = Date.now();
    if (now - this.#retirementCheckedAt >= RETIREMENT_CHECK_MS) await this.#retireRemovedOrigins(window, now);
    const totals = structuredClone(window.totals);
    const changed = bucketsChangedSince(window, this.#unstoredSince ?? now);
    this.#unstoredSince = undefined;
    const expired = this.#storedBuckets.filter((b) => !isCurrent(b, now));
    await this.storage.writeFleet({ fleet: totals, fleetWatchingSince: window.watchingSince }, changed, expired);
    this.#storedBuckets = [
      ...this.#storedBuckets.filter(
        (b) => isCurrent(b, now) && !changed.some((c) => c.kind === b.kind && c.start === b.start),
      ),
      ...changed.map(({ kind, start }) => ({ kind, start })),
    ];
    this.#stored = totals;
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
    return fleetMetrics(fleetView(window, now), this.#stored ?? newFleetWindow(window.totals.since).totals);
  }

  #windowAt(now: number): FleetWindow {
    return (this.#window ??= newFleetWindow(now));
  }

  /** Only a configuration that can be read and is good says which origins are gone. */
  async #retireRemovedOrigins(window: FleetWindow, now: number): Promise<void> {
    this.#retirementCheckedAt = now;
    const read = await readConfig(this.kv);
    if (!read.ok) return;
    const dropped = retireRemovedOrigins(window.totals, new Set(read.config.origins.map((o) => o.id)), now);
    if (dropped.length > 0) logEvent('info', 'fleet.origins-retired', { origins: dropped });
  }
}
