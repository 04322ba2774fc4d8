/**
 * How long the fleet aggregator keeps the totals of an origin the configuration no longer has. Pure.
 *
 * Totals are kept per origin id for the Prometheus counters, stored and exported. Without a bound,
 * every id ever reported would stay forever: each renamed or replaced origin (a pod's id in a
 * rolling deploy, say) would add its series to every scrape and its counts to every write. An origin
 * absent from the configuration keeps its totals for REMOVED_ORIGIN_RETENTION_MS, long enough for
 * Prometheus to scrape its last values and for an origin removed by mistake to come back with its
 * series intact; after that they are dropped (an id that comes back later starts from 0, which
 * `rate()` reads as the reset it is).
 */
import type { FleetTotals } from './fleet-window';

export const REMOVED_ORIGIN_RETENTION_MS = 60 * 60_000;

/**
 * Marks the counted origins that `configured` lacks as removed (since `now`, the first time), unmarks
 * those it has again, and drops the totals of the origins removed for the retention period. Returns
 * the ids dropped.
 */
export function retireRemovedOrigins(totals: FleetTotals, configured: ReadonlySet<string>, now: number): string[] {
  const removedSince = (totals.removedSince ??= {});
  const dropped: string[] = [];
  for (const id of Object.keys(totals.origins)) {
    if (configured.has(id)) {
      delete removedSince[id];
      continue;
    }
    const since = (removedSince[id] ??= now);
    if (now - since < REMOVED_ORIGIN_RETENTION_MS) continue;
    delete totals.origins[id];
    delete removedSince[id];
    dropped.push(id);
  }
  for (const id of Object.keys(removedSince)) if (!(id in totals.origins)) delete removedSince[id];
  return dropped;
}
