/**
 * The data behind `GET /_affinity/status`: the configuration's state, the monitor's, the fleet
 * aggregator's, and every origin with its health, share of new sessions and live traffic figures.
 */
import type { Bindings } from '../bindings';
import type { ConfigFailure } from '../config/config-source';
import type { ConfigSourceName, ConfigState } from '../config/config-store';
import type { OriginFigures } from '../core/fleet/fleet-figures';
import type { OriginHealth } from '../core/health/health-transition';
import { originStatus, type OriginStatus } from '../core/health/origin-status';
import type { IsolateState } from '../isolate-state';
import { etagOf } from './config-commit';
import { readFleetStatus, readHealthStatus, type Read } from './fleet-reads';
import type { ControlsInForce, HealthStatus } from '../monitor/monitor-protocol';

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
  /** Traffic counted across every isolate (the fleet aggregator). */
  fleet: {
    aggregator: 'ok' | 'unreachable';
    error: string | null;
    /** Since when the aggregator has watched (its recent figures start there). */
    watchingSince: string | null;
    /** Distinct sessions in the last 5 minutes over every origin. */
    activeSessions: number | null;
  };
  origins: OriginReport[];
}

/** An origin's configuration and health, with its live figures (null when the aggregator could not be read). */
export type OriginReport = OriginStatus & { live: OriginFigures | null };

export async function buildStatusReport(env: Bindings, isolate: IsolateState, now: number): Promise<StatusReport> {
  const current = isolate.config.current();
  const configured = current?.table.config.origins ?? [];
  const ids = configured.map((o) => o.id);
  const [monitor, fleet] = await Promise.all([readHealthStatus(env), readFleetStatus(env, ids)]);
  const records = healthRecords(monitor, isolate, configured);
  const live = fleet.ok ? fleet.value.origins : {};
  return {
    generatedAt: new Date(now).toISOString(),
    config: await configReport(isolate.config.state()),
    health: {
      monitor: monitor.ok ? 'ok' : 'unreachable',
      error: monitor.ok ? null : monitor.error,
      inSync: !!current && monitor.ok && monitor.value.planKey === current.table.healthPlan.key,
      shards: monitor.ok ? monitor.value.shards : 0,
      isolateSnapshotAt: isolate.health.takenAt === undefined ? null : new Date(isolate.health.takenAt).toISOString(),
    },
    fleet: {
      aggregator: fleet.ok ? 'ok' : 'unreachable',
      error: fleet.ok ? null : fleet.error,
      watchingSince: fleet.ok ? new Date(fleet.value.watchingSince).toISOString() : null,
      activeSessions: fleet.ok ? fleet.value.activeSessionsTotal : null,
    },
    origins: current
      ? originStatus(current.table.config, records, originControls(monitor, isolate)).map((row) => ({
          ...row,
          live: live[row.id] ?? null,
        }))
      : [],
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

/** What origins said of themselves, from the coordinator; without it, from this isolate's snapshot. */
export function originControls(monitor: Read<HealthStatus>, isolate: IsolateState): ControlsInForce {
  return monitor.ok ? (monitor.value.controls ?? {}) : isolate.health.controls;
}

/** The coordinator's health records; without the monitor, what this isolate's snapshot knows: which origins are down. */
export function healthRecords(
  monitor: Read<HealthStatus>,
  isolate: IsolateState,
  origins: readonly { id: string }[],
): Record<string, OriginHealth> {
  if (monitor.ok) return monitor.value.origins;
  return Object.fromEntries(
    origins
      .filter((o) => isolate.health.isUnhealthy(o.id))
      .map((o) => [o.id, { state: 'unhealthy', successes: 0, failures: 0 } satisfies OriginHealth]),
  );
}
