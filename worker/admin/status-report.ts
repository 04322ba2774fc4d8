/**
 * The data behind `GET /_affinity/status`: the configuration's state, the monitor's, and every origin
 * with its health and share of new sessions.
 */
import type { Bindings } from '../bindings';
import type { ConfigProblem } from '../core/config-parse';
import type { OriginHealth } from '../core/health-transition';
import { originStatus, type OriginStatus } from '../core/origin-status';
import { COORDINATOR } from '../health/monitor-protocol';
import type { IsolateState } from '../isolate-state';
import { errorMessage } from '../log';

export interface StatusReport {
  generatedAt: string;
  config: {
    inForce: boolean;
    /** A value in KV that was refused (the configuration in force is the last good one). */
    rejected: { problems: ConfigProblem[]; seenAt: string } | null;
    readError: string | null;
  };
  health: {
    monitor: 'ok' | 'unreachable';
    error: string | null;
    /** Whether the monitor probes the configuration in force here. */
    inSync: boolean;
    shards: number;
    /** When the snapshot this isolate routes by was taken. */
    isolateSnapshotAt: string | null;
  };
  origins: OriginStatus[];
}

export async function buildStatusReport(env: Bindings, isolate: IsolateState, now: number): Promise<StatusReport> {
  const current = isolate.config.current();
  const { kvFailure } = isolate.config.state();
  const monitor = await monitorStatus(env);
  const records = monitor.records ?? snapshotRecords(isolate, current?.table.config.origins ?? []);
  return {
    generatedAt: new Date(now).toISOString(),
    config: {
      inForce: !!current,
      rejected:
        kvFailure?.failure === 'invalid'
          ? { problems: kvFailure.problems, seenAt: new Date(kvFailure.since).toISOString() }
          : null,
      readError: kvFailure?.failure === 'unreadable' ? kvFailure.reason : null,
    },
    health: {
      monitor: monitor.records ? 'ok' : 'unreachable',
      error: monitor.error ?? null,
      inSync: !!current && monitor.planKey === current.table.healthPlan.key,
      shards: monitor.shards,
      isolateSnapshotAt: isolate.health.takenAt === undefined ? null : new Date(isolate.health.takenAt).toISOString(),
    },
    origins: current ? originStatus(current.table.config, records) : [],
  };
}

async function monitorStatus(env: Bindings) {
  try {
    const status = await env.HEALTH_MONITOR.getByName(COORDINATOR).status();
    return { records: status.origins, planKey: status.planKey, shards: status.shards };
  } catch (error) {
    return { error: errorMessage(error), planKey: null, shards: 0 };
  }
}

/** Without the monitor, what this isolate's snapshot knows: which origins are down. */
function snapshotRecords(isolate: IsolateState, origins: readonly { id: string }[]): Record<string, OriginHealth> {
  return Object.fromEntries(
    origins
      .filter((o) => isolate.health.isUnhealthy(o.id))
      .map((o) => [o.id, { state: 'unhealthy', successes: 0, failures: 0 } satisfies OriginHealth]),
  );
}
