/**
 * The one place that builds stubs of the `OriginHealthMonitor` objects: the coordinator, the probing
 * shards, the fleet aggregator and the location objects. Everything else asks this module for the object it talks to by
 * role, so an object's name is spelt once (monitor-protocol.ts) and the way to reach it once (here).
 */
import type { Bindings } from '../bindings';
import { FLEET_AGGREGATOR } from './fleet-protocol';
import { locationObjectName } from './location-protocol';
import { COORDINATOR, shardName } from './monitor-protocol';

export type MonitorNamespace = Bindings['HEALTH_MONITOR'];

/** The coordinator: plan, shards, snapshot, passive reports, the last good configuration. */
export function coordinatorOf(monitor: MonitorNamespace) {
  return monitor.getByName(COORDINATOR);
}

/** The object that probes shard `shard` (shard 0 is the coordinator itself). */
export function probingShardOf(monitor: MonitorNamespace, shard: number) {
  return monitor.getByName(shardName(shard));
}

/** The object that merges every isolate's traffic reports into the fleet's figures. */
export function fleetAggregatorOf(monitor: MonitorNamespace) {
  return monitor.getByName(FLEET_AGGREGATOR);
}

/**
 * The object of an isolate's location (core/fleet/location-name.ts): its snapshot, its traffic reports.
 *
 * No location hint is given. A hint names a region (`weur`, `enam`, …), not a location, and the
 * platform publishes no map from one to the other; without one an object is created near the request
 * that first reaches it, which for `location:<colo>` is always an isolate of that very location.
 */
export function locationObjectOf(monitor: MonitorNamespace, location: string) {
  return monitor.getByName(locationObjectName(location));
}

export type LocationObject = ReturnType<typeof locationObjectOf>;
