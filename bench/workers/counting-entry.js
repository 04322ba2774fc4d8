// Wraps the bundled edge-affinity worker to count what it asks of its bindings: every KV read and
// every Durable Object call. GET /__bench/counts answers the totals. Used only for the counted run,
// never for the timed ones.
// The wrangler bundle, copied to .mjs: Miniflare treats imported .js files as CommonJS.
import worker, { OriginHealthMonitor } from './index.mjs';

export { OriginHealthMonitor };

const counts = { requests: 0, kvReads: 0, durableObjectCalls: 0 };

function countingKv(kv) {
  return new Proxy(kv, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      return (...args) => {
        if (property === 'get' || property === 'getWithMetadata' || property === 'list') counts.kvReads++;
        return value.apply(target, args);
      };
    },
  });
}

function countingStub(stub) {
  return new Proxy(stub, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      return (...args) => {
        counts.durableObjectCalls++;
        return value.apply(target, args);
      };
    },
  });
}

function countingNamespace(namespace) {
  return new Proxy(namespace, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (property === 'getByName' || property === 'get') return (...args) => countingStub(value.apply(target, args));
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === '/__bench/counts') return Response.json(counts);
    counts.requests++;
    const wrapped = { ...env, ORIGINS: countingKv(env.ORIGINS), HEALTH_MONITOR: countingNamespace(env.HEALTH_MONITOR) };
    return worker.fetch(request, wrapped, ctx);
  },
};
