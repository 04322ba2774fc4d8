/**
 * An origin's load as placement compares it (bounded-load.ts): the requests it has in flight. By
 * Little's law that is its request rate × its response time, the work it has in hand: an origin that
 * answers ten times slower carries ten times the load for the same traffic, and one that is merely busy
 * with quick requests is not taken for loaded. Weights are the operator's and the origin's say
 * (`weight=<n>%`); the bound compares load per unit of weight. Two measures add up:
 *
 * - the fleet's: the aggregator's answer to the last forward of this isolate's location object, which
 *   hands it over with its answer to this isolate's traffic report, carries each origin's mean
 *   concurrency over the last 20 s across every isolate (the time its requests took to answer, summed,
 *   over the window: fleet-figures.ts). Smooth, so placement does not chase noise, and at most a report
 *   interval (10 s) plus the longest a location object holds a report (15 s) plus half the window behind;
 * - this isolate's: the requests it has in flight to each origin at this moment. Exact and immediate,
 *   so placement reacts within a request to a slowdown it is seeing, and a deployment served by one
 *   busy isolate needs no fleet figure at all.
 *
 * The fleet figure includes this isolate's past requests and the second term its present ones, so its
 * own traffic counts a little more than another isolate's; for one isolate among many it is noise, for
 * a lone isolate both measure the same thing. A fleet figure older than FLEET_LOAD_MAX_AGE_MS (an
 * isolate that has not reported for a while) is left out rather than trusted. Pure.
 */
import type { FleetLoad } from '../fleet/fleet-figures';

/**
 * Fleet figures older than this are not used: the 25 s they may be in the steady state (a report
 * interval and a location object's longest hold), and two report intervals more.
 */
export const FLEET_LOAD_MAX_AGE_MS = 45_000;

/** The fleet's figures, unless they are too old to place by. */
export function usableFleetLoad(fleet: FleetLoad | undefined, now: number): FleetLoad | undefined {
  return fleet && now - fleet.takenAt <= FLEET_LOAD_MAX_AGE_MS ? fleet : undefined;
}

/** Each origin's fleet concurrency, by its index in `ids` (0 for an origin the figures do not name). */
export function fleetConcurrencyByIndex(fleet: FleetLoad, ids: readonly string[]): Float64Array {
  return Float64Array.from(ids, (id) => fleet.origins[id]?.concurrency ?? 0);
}

/** Load per origin index: the fleet's concurrency (when known) plus this isolate's requests in flight. */
export function originLoad(fleet: Float64Array | undefined, inFlight: Int32Array): (index: number) => number {
  return fleet ? (index) => fleet[index]! + inFlight[index]! : (index) => inFlight[index]!;
}
