/**
 * `GET /_affinity/metrics`: the fleet's figures in the Prometheus text exposition format (0.0.4),
 * named after the HAProxy exporter's `haproxy_server_*` family with `edge_affinity_origin_*`
 * (requests_total, http_responses_total{code}, connection errors as failures_total{kind}, redispatches
 * as moved_sessions_total{reason}, up/weight/status gauges, current sessions). Pure: data in, text out.
 */
import type { Config } from '../config/config-schema';
import { effectiveOrigin } from '../routing/effective-origin';
import type { FleetMetrics } from './fleet-answers';
import { HEALTH_STATES, type HealthState } from '../health/health-transition';
import { LATENCY_BOUNDS_MS } from './latency-histogram';
import type { ControlsInForce } from '../control/origin-control';
import { ORIGIN_STATES } from '../config/config-schema';
import { FAILURE_REASONS, reachOf } from '../failover/failed-attempt';
import { emptyCounts, MOVE_REASONS, STATUS_CLASSES, type OriginCounts } from './traffic-counts';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** What a read of the KV key `config` can find: a value put in force, or why none was (config-source.ts). */
export const CONFIG_READ_STATES = ['ok', 'missing', 'invalid', 'unreadable'] as const;
export type ConfigReadState = (typeof CONFIG_READ_STATES)[number];

export interface MetricsInput {
  config: Config | undefined;
  /** Health per configured origin id. */
  health: Record<string, HealthState>;
  /** What origins said of themselves and still holds (`Affinity-Control`). */
  controls: ControlsInForce;
  /** Null when the aggregator could not be read: then only the configuration's gauges are shown. */
  fleet: FleetMetrics | null;
  /** Whether the health coordinator answered (without it every origin's health is `unknown`). */
  monitorUp: boolean;
  /** What the answering isolate's last read of KV found; whatever is in force stays when it is not `ok`. */
  configRead: ConfigReadState;
}

type Labels = Record<string, string>;
type Sample = [labels: Labels, value: number];
interface Family {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  samples: Sample[];
}

/** What every family is computed from: the configured origins, and every origin with counts. */
interface Scope {
  input: MetricsInput;
  configured: Config['origins'];
  counted: string[];
  totals: (id: string) => OriginCounts;
}

export function renderPrometheus(input: MetricsInput): string {
  const configured = input.config?.origins ?? [];
  const totals = input.fleet?.totals.origins ?? {};
  const scope: Scope = {
    input,
    configured,
    counted: [...new Set([...configured.map((o) => o.id), ...Object.keys(totals)])],
    totals: (id) => totals[id] ?? emptyCounts(),
  };
  const lines = [
    ...counterFamilies(scope).flatMap(familyLines),
    ...histogramLines(scope.counted, scope.totals),
    ...gaugeFamilies(scope).flatMap(familyLines),
  ];
  return `${lines.join('\n')}\n`;
}

function counterFamilies({ input, counted, totals }: Scope): Family[] {
  const perOrigin = (value: (c: OriginCounts) => number): Sample[] =>
    counted.map((origin) => [{ origin }, value(totals(origin))]);
  const counter = (name: string, help: string, samples: Sample[]): Family => ({ name, type: 'counter', help, samples });
  return [
    counter(
      'edge_affinity_origin_requests_total',
      'Requests the origin answered.',
      perOrigin((c) => c.requests),
    ),
    counter(
      'edge_affinity_origin_new_sessions_total',
      'Requests of new sessions the origin answered.',
      perOrigin((c) => c.newSessions),
    ),
    counter(
      'edge_affinity_origin_moved_sessions_total',
      'Sessions moved to the origin, by why they left their own.',
      cross(counted, 'reason', MOVE_REASONS, (id, reason) => totals(id).moved[reason] ?? 0),
    ),
    counter(
      'edge_affinity_origin_failures_total',
      'Attempts to reach the origin that failed, by kind (connect-failed, timeout, cf-521, ...) and reach ' +
        '(not-reached: Cloudflare could not get the request to it; may-have-reached).',
      counted.flatMap((origin) =>
        FAILURE_REASONS.map((kind): Sample => [
          { origin, kind, reach: reachOf(kind) },
          totals(origin).failures[kind] ?? 0,
        ]),
      ),
    ),
    counter(
      'edge_affinity_origin_http_responses_total',
      'Responses of the origin, by status class.',
      cross(counted, 'code', STATUS_CLASSES, (id, code) => totals(id).responses[code] ?? 0),
    ),
    counter(
      'edge_affinity_unserved_requests_total',
      'Requests no origin answered, by cause (a client failure, or no-origin).',
      Object.entries(input.fleet?.totals.unserved ?? {}).map(([cause, n]) => [{ cause }, n]),
    ),
  ];
}

function gaugeFamilies(scope: Scope): Family[] {
  return [...originGauges(scope), ...trafficGauges(scope), configGauge(scope.input)];
}

/**
 * The status report's `config.kv` as a gauge, so that a refused value can page: the status says it
 * to whoever looks, this to an alerting rule. Each isolate re-reads KV every 10 s, so any isolate
 * answering a scrape says the same within that.
 */
function configGauge({ configRead }: MetricsInput): Family {
  return {
    name: 'edge_affinity_config_kv_status',
    type: 'gauge',
    help:
      'What the last read of the KV key config found (1 for the current one): ok, or why it was not applied ' +
      '(missing, invalid, unreadable); the configuration in force stays.',
    samples: CONFIG_READ_STATES.map((state): Sample => [{ state }, configRead === state ? 1 : 0]),
  };
}

/** Health, state and weight of every configured origin: in force, and who set them. */
function originGauges({ input, configured }: Scope): Family[] {
  const { health } = input;
  const origins = configured.map((o) => effectiveOrigin(o, input.controls[o.id]));
  const gauge = (name: string, help: string, samples: Sample[]): Family => ({ name, type: 'gauge', help, samples });
  const perOrigin = (value: (o: (typeof origins)[number]) => number): Sample[] =>
    origins.map((o) => [{ origin: o.id }, value(o)]);
  const oneHot = <T extends string>(label: string, values: readonly T[], current: (o: (typeof origins)[number]) => T) =>
    origins.flatMap((o) => values.map((v): Sample => [{ origin: o.id, [label]: v }, current(o) === v ? 1 : 0]));
  return [
    gauge(
      'edge_affinity_origin_up',
      '1 when the health monitor calls the origin healthy.',
      perOrigin((o) => (health[o.id] === 'healthy' ? 1 : 0)),
    ),
    gauge(
      'edge_affinity_origin_check_status',
      'Health of the origin (one series per state, 1 for the current one).',
      oneHot('state', HEALTH_STATES, (o) => health[o.id] ?? 'unknown'),
    ),
    gauge(
      'edge_affinity_origin_status',
      "State of the origin in force: the operator's, or draining when the origin said drain (1 for the current one).",
      oneHot('state', ORIGIN_STATES, (o) => o.state),
    ),
    gauge(
      'edge_affinity_origin_weight',
      'Configured weight of the origin.',
      perOrigin((o) => o.configured.weight),
    ),
    gauge(
      'edge_affinity_origin_effective_weight',
      "Weight new sessions are placed by: the configured weight times the origin's own weight percentage.",
      perOrigin((o) => o.weight),
    ),
    gauge(
      'edge_affinity_origin_control_draining',
      '1 while the origin drains itself (Affinity-Control: drain, not yet ready).',
      perOrigin((o) => (o.control?.draining ? 1 : 0)),
    ),
    gauge(
      'edge_affinity_origin_control_weight_ratio',
      'The weight percentage the origin gave itself (Affinity-Control: weight=<n>%), as a ratio; 1 when it said none.',
      perOrigin((o) => (o.control?.weightPercent ?? 100) / 100),
    ),
  ];
}

/** Sessions and last requests from the fleet's counts, and whether each object answered. */
function trafficGauges({ input, counted, totals }: Scope): Family[] {
  const { fleet } = input;
  const gauge = (name: string, help: string, samples: Sample[]): Family => ({ name, type: 'gauge', help, samples });
  const served = counted.filter((id) => totals(id).lastRequestAt > 0);
  return [
    gauge(
      'edge_affinity_origin_current_sessions',
      'Distinct sessions that made a request to the origin in the last 5 minutes, fleet-wide.',
      counted.map((id) => [{ origin: id }, fleet?.activeSessions[id] ?? 0]),
    ),
    gauge(
      'edge_affinity_current_sessions',
      'Distinct sessions in the last 5 minutes over every origin, fleet-wide.',
      fleet ? [[{}, fleet.activeSessionsTotal]] : [],
    ),
    gauge(
      'edge_affinity_origin_last_request_timestamp_seconds',
      'When the origin last answered a request (Unix time).',
      served.map((id) => [{ origin: id }, totals(id).lastRequestAt / 1000]),
    ),
    gauge('edge_affinity_health_monitor_up', '1 when the health coordinator answered this scrape.', [
      [{}, input.monitorUp ? 1 : 0],
    ]),
    gauge(
      'edge_affinity_fleet_aggregator_up',
      "1 when the fleet aggregator answered this scrape (the counters are the fleet's).",
      [[{}, fleet ? 1 : 0]],
    ),
  ];
}

function familyLines({ name, type, help, samples }: Family): string[] {
  return [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} ${type}`,
    ...samples.map(([labels, value]) => `${name}${labelText(labels)} ${numberText(value)}`),
  ];
}

function histogramLines(ids: readonly string[], totals: (id: string) => OriginCounts): string[] {
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
  ids: readonly string[],
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
