/**
 * What the health monitor's objects and the isolates say to each other.
 *
 * One object, named "coordinator", holds the plan (what to probe), splits it into shards, probes
 * shard 0 itself and hands the others to objects named "shard-1", "shard-2"..., which send their
 * results back. Isolates read its snapshot through the object of their location, which keeps a copy
 * for all of them and, when the plan is not their configuration's, asks it to read KV (coordinator/plan-source.ts;
 * location-protocol.ts). They send it their passive failure reports and what origins said of
 * themselves (`Affinity-Control: drain`, `ready`, `weight=<n>%`) straight. An isolate that starts while
 * KV holds nothing usable asks it for the last good configuration.
 *
 * Each role lives in its own module behind the class (origin-health-monitor.ts): coordinator.ts and
 * probing-shard.ts; their storage keys are listed in monitor-storage.ts, and monitor-client.ts is the
 * one place that builds stubs of them.
 */
import type { LastGoodConfig } from '../config/last-good';
import type { HealthConfig, OriginState } from '../core/config/config-schema';
import type { ProbeTarget } from '../core/health/health-plan';
import type { OriginHealth } from '../core/health/health-transition';
import type { ControlsInForce } from '../core/control/origin-control';

export type { ControlReport, ControlsInForce } from '../core/control/origin-control';

export const COORDINATOR = 'coordinator';

export function shardName(shard: number): string {
  return shard === 0 ? COORDINATOR : `shard-${shard}`;
}

/** What one object probes. `generation` changes with every new plan, so late results of an old one are dropped. */
export type { LastGoodConfig };

export interface ShardOrders {
  generation: number;
  shard: number;
  health: HealthConfig;
  origins: ProbeTarget[];
}

/** What every isolate caches for routing: small, whatever the number of origins. */
export interface HealthSnapshot {
  /** The plan the monitor probes by (null before the first one arrives). */
  planKey: string | null;
  takenAt: number;
  /** Ids of the origins the probes (or enough passive reports) call unhealthy. */
  unhealthy: string[];
  /** What origins said of themselves and still holds: only those draining or below 100% of their weight. */
  controls: ControlsInForce;
}

/** Everything known about every origin, for the status endpoint. */
export interface HealthStatus {
  planKey: string | null;
  takenAt: number;
  shards: number;
  origins: Record<string, OriginHealth>;
  /** Each configured origin's state and since when the coordinator has it (a drain's start). */
  states: OriginStates;
  /** What origins said of themselves and still holds, with since when. */
  controls: ControlsInForce;
}

/** Per origin id: its configured state, and when the coordinator adopted a configuration that changed it. */
export type OriginStates = Record<string, { state: OriginState; since: number }>;

/** Connection failures one isolate saw for one origin since its last report. */
export interface PassiveFailure {
  originId: string;
  count: number;
  error: string;
  at: number;
}
