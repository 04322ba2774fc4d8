/**
 * The data behind `GET /_affinity/status`: the configuration's state, the monitor's, and every origin
 * with its health and share of new sessions.
 */
import type { Bindings } from '../bindings';
import type { ConfigFailure } from '../config/config-source';
import type { ConfigSourceName, ConfigState } from '../config/config-store';
import type { OriginHealth } from '../core/health-transition';
import { originStatus, type OriginStatus } from '../core/origin-status';
import { coordinatorOf } from '../health/monitor-client';
import type { IsolateState } from '../isolate-state';
import { errorMessage } from '../log';
import { etagOf } from './config-etag';

/** Which configuration is in force in the answering isolate, and why. */
export interface ConfigReport {
  /** Null when there is none: every proxied request answers 503. */
  inForce: {
    /** `kv`, `admin` (a PUT this isolate answered) or `last-good` (the health monitor's copy). */
    source: ConfigSourceName;
    /** When this isolate put it in force. */
    appliedAt: string;
    /** The ETag `GET /_affinity/config` answers with. */
    etag: string;
    /** For `last-good`: where the monitor had it from and when it adopted it. */
    lastGood: { source: 'kv' | 'admin'; adoptedAt: string } | null;
  } | null;
  /** The last read of KV: a usable value, or why not and since when (what is in force stays). */
  kv: { ok: true } | (ConfigFailure & { since: string });
}

export interface StatusReport {
  generatedAt: string;
  config: ConfigReport;
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
  const monitor = await monitorStatus(env);
  const records = monitor.records ?? snapshotRecords(isolate, current?.table.config.origins ?? []);
  return {
    generatedAt: new Date(now).toISOString(),
    config: await configReport(isolate.config.state()),
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

async function configReport({ inForce, kvFailure }: ConfigState): Promise<ConfigReport> {
  const iso = (ms: number) => new Date(ms).toISOString();
  const kv = kvFailure ? { ...kvFailure, since: iso(kvFailure.since) } : ({ ok: true } as const);
  if (!inForce) return { inForce: null, kv };
  const { source, appliedAt, text, lastGood } = inForce;
  return {
    inForce: {
      source,
      appliedAt: iso(appliedAt),
      etag: await etagOf(text),
      lastGood: lastGood ? { source: lastGood.source, adoptedAt: iso(lastGood.adoptedAt) } : null,
    },
    kv,
  };
}

async function monitorStatus(env: Bindings) {
  try {
    const status = await coordinatorOf(env.HEALTH_MONITOR).status();
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
