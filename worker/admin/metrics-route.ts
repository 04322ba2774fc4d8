/**
 * `GET /_affinity/metrics`: the fleet's figures for Prometheus (core/fleet/prometheus-text.ts), counted
 * across every isolate by the fleet aggregator, with the health coordinator's view of each origin.
 * Bearer token only, like every admin route but the status page.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../bindings';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from '../core/fleet/prometheus-text';
import type { IsolateState } from '../isolate-state';
import { readFleetMetrics, readHealthStatus } from './fleet-reads';
import { NO_STORE } from './admin-answers';
import { originControls } from './status-report';

export async function serveMetrics(c: Context<AppEnv>, isolate: IsolateState): Promise<Response> {
  const lookup = await isolate.config.lookup(c.env, Date.now(), (task) => c.executionCtx.waitUntil(task));
  const [monitor, fleet] = await Promise.all([readHealthStatus(c.env), readFleetMetrics(c.env)]);
  const health = monitor.ok
    ? Object.fromEntries(Object.entries(monitor.value.origins).map(([id, record]) => [id, record.state]))
    : {};
  const text = renderPrometheus({
    config: lookup.ok ? lookup.table.config : undefined,
    health,
    controls: originControls(monitor, isolate),
    fleet: fleet.ok ? fleet.value : null,
    monitorUp: monitor.ok,
    // The store's last read of KV, as the status report's `config.kv` says it.
    configRead: isolate.config.state().kvFailure?.failure ?? 'ok',
  });
  return c.body(text, 200, { ...NO_STORE, 'content-type': PROMETHEUS_CONTENT_TYPE });
}
