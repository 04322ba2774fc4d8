/**
 * How old the health snapshot an isolate routes by may be. Two ages matter: past the refresh age a
 * request refreshes it behind its response; past the maximum age it is older than the probes
 * themselves, and a request waits (boundedly) for a fresh one before it routes.
 */
import type { HealthConfig } from './config-schema';

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
