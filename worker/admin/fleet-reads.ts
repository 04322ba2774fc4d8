/**
 * What the admin API reads from the health monitor's objects: the coordinator's health records and
 * what the fleet aggregator counted, as each route needs it. A failed read is an answer (`ok: false`), shown as "unreachable", never
 * a 500: the status, the metrics and the origin endpoint still say what this isolate knows.
 */
import type { Bindings } from '../bindings';
import type { FleetMetrics, FleetStatus, OriginFleetFacts } from '../monitor/fleet-protocol';
import type { HealthStatus } from '../monitor/monitor-protocol';
import { coordinatorOf, fleetAggregatorOf } from '../monitor/monitor-client';
import { errorMessage } from '../log';

export type Read<T> = { ok: true; value: T } | { ok: false; error: string };

async function attempt<T>(read: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}

export function readHealthStatus(env: Bindings): Promise<Read<HealthStatus>> {
  return attempt(() => coordinatorOf(env.HEALTH_MONITOR).status());
}

/** The status page's figures, for the origins it shows. */
export function readFleetStatus(env: Bindings, ids: readonly string[]): Promise<Read<FleetStatus>> {
  return attempt(() => fleetAggregatorOf(env.HEALTH_MONITOR).fleetStatus([...ids]));
}

export function readFleetOrigin(env: Bindings, id: string): Promise<Read<OriginFleetFacts>> {
  return attempt(() => fleetAggregatorOf(env.HEALTH_MONITOR).fleetOrigin(id));
}

export function readFleetMetrics(env: Bindings): Promise<Read<FleetMetrics>> {
  return attempt(() => fleetAggregatorOf(env.HEALTH_MONITOR).fleetMetrics());
}
