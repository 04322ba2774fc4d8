/**
 * Entry point of the worker: the request handler (app.ts), the health monitor's Durable Object class,
 * and a once-a-minute nudge that makes the monitor probe the configuration in KV, so probing starts
 * and follows changes even when no request arrives.
 */
import { createApp } from './app';
import type { Bindings } from './bindings';
import { coordinatorOf } from './monitor/monitor-client';

export { OriginHealthMonitor } from './monitor/origin-health-monitor';

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  async scheduled(_controller, env) {
    await coordinatorOf(env.HEALTH_MONITOR).syncWithKv();
  },
} satisfies ExportedHandler<Bindings>;
