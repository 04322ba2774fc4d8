/**
 * What isolates and the object of their location say to each other: the tier that makes the load on
 * the global objects (`coordinator`, `fleet`) grow with the number of locations, not of isolates.
 *
 * Every isolate talks to the object of its location, `location:<colo>` (core/fleet/location-name.ts), an
 * object of the health monitor's class (no binding or migration of its own): it reads the health
 * snapshot there (`relayedSnapshot`), asks there for the coordinator to look at KV (`relaySync`), and
 * hands its traffic reports there (`relayTraffic`). The location object keeps the coordinator's
 * snapshot for its isolates (snapshot-relay.ts) and forwards their reports, merged, to `fleet` once
 * per interval (traffic-forwarder.ts, core/fleet/traffic-relay.ts); its answer to a report carries the
 * fleet's load from the last forward, which load-aware placement uses.
 *
 * Passive failure reports and what origins said of themselves (`Affinity-Control: drain`, …) still go
 * to the coordinator straight: they are rare, each isolate sends at most one per second and only news,
 * and the reporting isolate routes by the coordinator's answer at once.
 */
import type { FleetLoad } from '../core/fleet/fleet-figures';
import type { Receipt, RelayLedger } from '../core/fleet/traffic-relay';

export type { Receipt, RelayLedger } from '../core/fleet/traffic-relay';

const LOCATION_PREFIX = 'location:';

export function locationObjectName(location: string): string {
  return LOCATION_PREFIX + location;
}

/** How often a location object forwards its isolates' merged reports to the fleet aggregator, at most. */
export const LOCATION_FORWARD_INTERVAL_MS = 10_000;
/** How often, at most, while they carry requests to a draining origin. */
export const LOCATION_DRAIN_FORWARD_INTERVAL_MS = 1_000;
/**
 * The longest a report waits in its location object before it is forwarded: forwards keep to slots of
 * the object's own phase, the next at least half an interval after the last (core/fleet/traffic-relay.ts).
 */
export const LOCATION_LONGEST_HOLD_MS = LOCATION_FORWARD_INTERVAL_MS * 1.5;

/**
 * After a failed coordinator read, how long a location object hands out the copy it has before it
 * asks again: the isolates of every location asking at once must not keep a struggling coordinator down.
 */
export const SNAPSHOT_RETRY_AFTER_FAILURE_MS = 1_000;

/** A location object's answer to one isolate's traffic report. */
export interface RelayAnswer {
  /** The incarnation that answers: receipts of another one that its ledger does not vouch for were lost. */
  incarnation: string;
  /** Where this report went. */
  receipt: Receipt;
  /** The last round of each recent incarnation that the aggregator took. */
  ledger: RelayLedger;
  /** The fleet's recent load, as the aggregator answered the last forward; none before the first. */
  load?: FleetLoad;
}
