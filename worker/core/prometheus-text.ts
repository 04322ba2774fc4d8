/**
 * `GET /_affinity/metrics`: the fleet's figures in the Prometheus text exposition format (0.0.4),
 * named after the HAProxy exporter's `haproxy_server_*` family with `edge_affinity_origin_*`
 * (requests_total, http_responses_total{code}, connection errors as failures_total{kind}, redispatches
 * as moved_sessions_total{reason}, up/weight/status gauges, current sessions). Pure: data in, text out.
 */
import type { Config } from './config-schema';
import type { FleetView } from './fleet-window';
import type { HealthState } from './health-transition';
import { LATENCY_BOUNDS_MS } from './latency-histogram';
import { ORIGIN_STATES } from './config-schema';
import { emptyCounts, STATUS_CLASSES, type OriginCounts } from './traffic-counts';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const HEALTH_STATES: readonly HealthState[] = ['healthy', 'unhealthy', 'unknown'];
const REPIN_REASONS = ['unhealthy', 'connect-failed', 'removed', 'disabled', 'expired'] as const;
const FAILURE_KINDS = ['connect-failed', 'timeout'] as const;

export interface MetricsInput {
  config: Config | undefined;
  /** Health per configured origin id. */
  health: Record<string, HealthState>;
  /** Null when the aggregator could not be read: then only the configuration's gauges are shown. */
  fleet: FleetView | null;
  /** Whether the health coordinator answered (without it every origin's health is `unknown`). */
  monitorUp: boolean;
}

type Labels = Record<string, string>;
type Sample = [labels: Labels, value: number];

export function renderPrometheus({ config, health, fleet, monitorUp }: MetricsInput): string {
  const configured = config?.origins ?? [];
  const counted = new Set([...configured.map((o) => o.id), ...Object.keys(fleet?.totals.origins ?? {})]);
  const totals = (id: string): OriginCounts => fleet?.totals.origins[id] ?? emptyCounts();
  const perOrigin = (value: (c: OriginCounts) => number): Sample[] =>
    [...counted].map((origin) => [{ origin }, value(totals(origin))]);
  const lines: string[] = [];
  const family = (name: string, type: string, help: string, samples: Sample[], suffix = '') => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${suffix}${labelText(labels)} ${numberText(value)}`);
  };
  family(
    'edge_affinity_origin_requests_total',
    'counter',
    'Requests the origin answered.',
    perOrigin((c) => c.requests),
  );
  family(
    'edge_affinity_origin_new_sessions_total',
    'counter',
    'Requests of new sessions the origin answered.',
    perOrigin((c) => c.newSessions),
  );
  family(
    'edge_affinity_origin_moved_sessions_total',
    'counter',
    'Sessions moved to the origin, by why they left their own.',
    cross(counted, 'reason', REPIN_REASONS, (id, reason) => totals(id).moved[reason] ?? 0),
  );
  family(
    'edge_affinity_origin_failures_total',
    'counter',
    'Attempts to reach the origin that failed, by kind.',
    cross(counted, 'kind', FAILURE_KINDS, (id, kind) => totals(id).failures[kind] ?? 0),
  );
  family(
    'edge_affinity_origin_http_responses_total',
    'counter',
    'Responses of the origin, by status class.',
    cross(counted, 'code', STATUS_CLASSES, (id, code) => totals(id).responses[code] ?? 0),
  );
  lines.push(...histogramLines(counted, totals));
  family(
    'edge_affinity_unserved_requests_total',
    'counter',
    'Requests no origin answered, by cause (a client failure, or no-origin).',
    Object.entries(fleet?.totals.unserved ?? {}).map(([cause, n]) => [{ cause }, n]),
  );
  family(
    'edge_affinity_origin_up',
    'gauge',
    '1 when the health monitor calls the origin healthy.',
    configured.map((o) => [{ origin: o.id }, health[o.id] === 'healthy' ? 1 : 0]),
  );
  family(
    'edge_affinity_origin_check_status',
    'gauge',
    'Health of the origin (one series per state, 1 for the current one).',
    configured.flatMap((o) =>
      HEALTH_STATES.map((h): Sample => [{ origin: o.id, state: h }, (health[o.id] ?? 'unknown') === h ? 1 : 0]),
    ),
  );
  family(
    'edge_affinity_origin_status',
    'gauge',
    'Configured state of the origin (one series per state, 1 for the current one).',
    configured.flatMap((o) => ORIGIN_STATES.map((s): Sample => [{ origin: o.id, state: s }, o.state === s ? 1 : 0])),
  );
  family(
    'edge_affinity_origin_weight',
    'gauge',
    'Configured weight of the origin.',
    configured.map((o) => [{ origin: o.id }, o.weight]),
  );
  family(
    'edge_affinity_origin_current_sessions',
    'gauge',
    'Distinct sessions that made a request to the origin in the last 5 minutes, fleet-wide.',
    [...counted].map((id) => [{ origin: id }, fleet?.activeSessions[id] ?? 0]),
  );
  family(
    'edge_affinity_current_sessions',
    'gauge',
    'Distinct sessions in the last 5 minutes over every origin, fleet-wide.',
    fleet ? [[{}, fleet.activeSessionsTotal]] : [],
  );
  family(
    'edge_affinity_origin_last_request_timestamp_seconds',
    'gauge',
    'When the origin last answered a request (Unix time).',
    [...counted]
      .filter((id) => totals(id).lastRequestAt > 0)
      .map((id) => [{ origin: id }, totals(id).lastRequestAt / 1000]),
  );
  family('edge_affinity_health_monitor_up', 'gauge', '1 when the health coordinator answered this scrape.', [
    [{}, monitorUp ? 1 : 0],
  ]);
  family(
    'edge_affinity_fleet_aggregator_up',
    'gauge',
    "1 when the fleet aggregator answered this scrape (the counters are the fleet's).",
    [[{}, fleet ? 1 : 0]],
  );
  return `${lines.join('\n')}\n`;
}

function histogramLines(ids: Set<string>, totals: (id: string) => OriginCounts): string[] {
  const name = 'edge_affinity_origin_response_time_seconds';
  const lines = [`# HELP ${name} Time to the origin's response headers.`, `# TYPE ${name} histogram`];
  for (const origin of ids) {
    const { latency, latencySumMs, requests } = totals(origin);
    let cumulative = 0;
    latency.forEach((count, bucket) => {
      cumulative += count;
      const le = bucket < LATENCY_BOUNDS_MS.length ? String(LATENCY_BOUNDS_MS[bucket]! / 1000) : '+Inf';
      lines.push(`${name}_bucket${labelText({ origin, le })} ${cumulative}`);
    });
    lines.push(`${name}_sum${labelText({ origin })} ${numberText(latencySumMs / 1000)}`);
    lines.push(`${name}_count${labelText({ origin })} ${requests}`);
  }
  return lines;
}

function cross<T extends string>(
  ids: Set<string>,
  label: string,
  values: readonly T[],
  value: (id: string, v: T) => number,
) {
  return [...ids].flatMap((origin) => values.map((v): Sample => [{ origin, [label]: v }, value(origin, v)]));
}

/** Label values escape backslash, double quote and line feed (the exposition format's rules). */
function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length ? `{${parts.join(',')}}` : '';
}

function numberText(value: number): string {
  return Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
}
