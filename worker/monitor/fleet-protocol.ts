/**
 * What isolates and the fleet aggregator say to each other.
 *
 * The aggregator is an object of the health monitor's class (no binding or migration of its own to
 * deploy) named "fleet", with a storage of its own. Isolates send it their traffic tallies in
 * coalesced batches (traffic-reporter.ts); its answer carries the fleet's recent load per origin back,
 * so every isolate knows it without a call of its own. Each admin route reads what it shows:
 * `fleetStatus(ids)` (the status page), `fleetOrigin(id)` (one origin), `fleetMetrics()`.
 */
export type { FleetLoad } from '../core/fleet/fleet-figures';
export type { FleetMetrics, FleetStatus, OriginFleetFacts } from '../core/fleet/fleet-answers';
export type { FleetTotals } from '../core/fleet/fleet-window';
export type { TrafficBatch } from '../core/fleet/traffic-counts';

export const FLEET_AGGREGATOR = 'fleet';

/** How often an isolate reports its traffic (to its location object, which forwards it), at most. */
export const TRAFFIC_REPORT_INTERVAL_MS = 10_000;
/** How often, at most, while it serves requests of a draining origin. */
export const DRAINING_TRAFFIC_REPORT_INTERVAL_MS = 1_000;

/**
 * How long, at most, counted totals wait in the aggregator's memory before its alarm stores them; the
 * metrics export stored totals only (fleet-aggregator.ts), so they are this far behind at most.
 */
export const PERSIST_INTERVAL_MS = 1_000;
