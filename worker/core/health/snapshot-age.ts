/**
 * How old the health snapshot an isolate routes by may be. Two ages matter: past the refresh age a
 * request refreshes it behind its response; past the maximum age it is older than the probes
 * themselves, and a request waits (boundedly) for a fresh one before it routes.
 *
 * Isolates read the snapshot from their location's object, which keeps the coordinator's and reads it
 * again once it is older than the relayed age. Ages are always counted from when the coordinator took
 * it (`takenAt`), never from when the location object got it: an isolate's copy is at most the refresh
 * age plus the relayed age old while requests come (1.8 × the refresh age, at most 9 s), which leaves a
 * tenth of the interval for the two hops before the maximum age would make a request wait.
 */
import type { HealthConfig } from '../config/config-schema';

/** The longest a request waits for a fresh snapshot before it routes by the one it has. */
export const FRESH_SNAPSHOT_WAIT_MS = 250;

/** Snapshot age past which a request refreshes it in the background: half the interval, at most 5 s. */
export function snapshotRefreshMs(health: HealthConfig): number {
  return Math.min(health.interval / 2, 5) * 1000;
}

/** Snapshot age past which a request waits for a fresh one: one probe interval. */
export function snapshotMaxAgeMs(health: HealthConfig): number {
  return health.interval * 1000;
}

/**
 * Snapshot age up to which a location object answers with the copy it keeps: four fifths of the
 * refresh age (4 s at most). So the coordinator is read at most once per that per location, whatever
 * the number of isolates there.
 */
export function relayedSnapshotMaxAgeMs(health: HealthConfig): number {
  return snapshotRefreshMs(health) * 0.8;
}
