/**
 * This isolate's side of load-aware placement (`affinity.balanceFactor`): the requests it has in
 * flight to each origin, and the fleet's concurrency from the aggregator's last answer, each arranged
 * by origin index once per configuration and once per answer, so that placing a session only adds and
 * compares (core/routing/load-estimate.ts says what load is, core/routing/bounded-load.ts what the bound is).
 *
 * Nothing here runs without a balance factor: the proxy neither counts requests in flight nor asks for
 * a bound then.
 */
import type { Config } from '../core/config/config-schema';
import { loadBound } from '../core/routing/bounded-load';
import type { FleetLoad } from '../core/fleet/fleet-figures';
import { fleetConcurrencyByIndex, originLoad, usableFleetLoad } from '../core/routing/load-estimate';
import { takesNewSessions, type Availability } from '../core/routing/route-plan';
import type { RoutingTable } from '../core/routing/routing-table';

/** Counts one request in flight to an origin, from its attempt's start to its response headers. */
export interface InFlightCounter {
  start(index: number): void;
  end(index: number): void;
}

export class PlacementLoad {
  #inFlight?: { config: Config; counts: Int32Array; counter: InFlightCounter };
  #fleet?: { config: Config; load: FleetLoad; byIndex: Float64Array };

  /** The counter of this configuration's origins (a new configuration starts from zero). */
  counter(table: RoutingTable): InFlightCounter {
    return this.#countsFor(table).counter;
  }

  /** The test of whether an origin is within its load bound, made when a placement asks for it. */
  bound(
    table: RoutingTable,
    factor: number,
    fleet: FleetLoad | undefined,
    availability: (index: number) => Availability,
    now: number,
  ): (index: number) => boolean {
    const load = originLoad(this.#fleetByIndex(table, usableFleetLoad(fleet, now)), this.#countsFor(table).counts);
    const { origins } = table;
    return loadBound({
      count: origins.length,
      load,
      weight: (index) => origins[index]!.weight,
      takesNew: (index) => takesNewSessions(origins[index]!, availability(index)),
      factor,
    });
  }

  #countsFor(table: RoutingTable) {
    if (this.#inFlight?.config === table.config) return this.#inFlight;
    const counts = new Int32Array(table.origins.length);
    const counter = { start: (index: number) => void counts[index]!++, end: (index: number) => void counts[index]!-- };
    return (this.#inFlight = { config: table.config, counts, counter });
  }

  #fleetByIndex(table: RoutingTable, load: FleetLoad | undefined): Float64Array | undefined {
    if (!load) return undefined;
    const cached = this.#fleet;
    if (cached?.config === table.config && cached.load === load) return cached.byIndex;
    const ids = table.origins.map((origin) => origin.id);
    return (this.#fleet = { config: table.config, load, byIndex: fleetConcurrencyByIndex(load, ids) }).byIndex;
  }
}
