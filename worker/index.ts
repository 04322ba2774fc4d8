/**
 * Entry point of the worker: the Hono app for requests, the health monitor's Durable Object class,
 * and a once-a-minute check that the monitor probes the configuration in KV (so probing starts and
 * follows changes even when no request arrives).
 */
import { createApp } from './app';
import type { Bindings } from './bindings';
import { IsolateState } from './isolate-state';
import { COORDINATOR } from './health/monitor-protocol';
import { logEvent } from './log';

export { OriginHealthMonitor } from './health/origin-health-monitor';

const isolate = new IsolateState();
const app = createApp(isolate);

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    const now = Date.now();
    await isolate.config.refresh(env.ORIGINS, now);
    const lookup = await isolate.config.lookup(env.ORIGINS, now, (task) => ctx.waitUntil(task));
    if (lookup.status !== 'ready') return logEvent('warn', 'health.no-config', { status: lookup.status });
    await env.HEALTH_MONITOR.getByName(COORDINATOR).configure(lookup.table.healthPlan);
  },
} satisfies ExportedHandler<Bindings>;
