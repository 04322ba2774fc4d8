// Simulated isolates against the real objects: wraps the bundled edge-affinity worker (whose Durable
// Object class is the real one, running in workerd) with routes that each make the one call an
// isolate makes — a traffic report to the fleet aggregator, or a health snapshot read from the
// coordinator — on behalf of simulated isolate `i`, or that a location object makes: the merged
// forward of its `isolates` isolates. bench/fleet-simulation.ts drives them at the rates 1,000
// isolates would, bench/fleet-tier.ts at the rates of 300 location objects. Used only by the benchmark.
// The wrangler bundle, copied to .mjs: Miniflare treats imported .js files as CommonJS.
import worker, { OriginHealthMonitor } from './index.mjs';

export { OriginHealthMonitor };

const ORIGINS = 10;
/** Sessions each simulated isolate serves on each origin (the same ones in every report). */
const SESSIONS_PER_ORIGIN = 3;
const REQUESTS_PER_ORIGIN = 5;
const LATENCY_BUCKETS = 15;
const HLL_PRECISION = 10;

/** A well-mixed 32-bit hash of three small integers (MurmurHash3's finaliser). */
function mix(a, b, c) {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35) ^ Math.imul(c + 1, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A HyperLogLog register entry (register × 64 + rank), as an isolate's sparse sketch carries it. */
function sketchEntry(hash) {
  const register = hash >>> (32 - HLL_PRECISION);
  const rest = (hash << HLL_PRECISION) >>> 0;
  const rank = rest === 0 ? 32 - HLL_PRECISION + 1 : Math.clz32(rest) + 1;
  return register * 64 + rank;
}

/** What simulated isolate `isolate` reports after 10 s: a few requests and sessions on every origin. */
function batchFor(isolate, now) {
  const origins = {};
  const sessions = {};
  for (let o = 0; o < ORIGINS; o++) {
    const latency = new Array(LATENCY_BUCKETS).fill(0);
    latency[3] = 3;
    latency[4] = REQUESTS_PER_ORIGIN - 3;
    origins[`app-${o + 1}`] = {
      requests: REQUESTS_PER_ORIGIN,
      newSessions: 1,
      moved: {},
      failures: {},
      responses: { '2xx': REQUESTS_PER_ORIGIN },
      latency,
      latencySumMs: 60,
      lastRequestAt: now,
    };
    const entries = new Map();
    for (let s = 0; s < SESSIONS_PER_ORIGIN; s++) {
      const entry = sketchEntry(mix(isolate, o, s));
      const register = Math.floor(entry / 64);
      entries.set(register, Math.max(entries.get(register) ?? 0, entry));
    }
    sessions[`app-${o + 1}`] = [...entries.values()];
  }
  return { origins, sessions, unserved: {} };
}

/** Merged batches of a location's isolates, built once per location (the same sessions every forward). */
const forwards = new Map();

/** What location `location` forwards for `isolates` isolates after 10 s: their batches, merged. */
function forwardFor(location, isolates, now) {
  let forward = forwards.get(location);
  if (!forward) {
    const origins = {};
    const sessions = {};
    for (let o = 0; o < ORIGINS; o++) {
      const latency = new Array(LATENCY_BUCKETS).fill(0);
      latency[3] = 3 * isolates;
      latency[4] = (REQUESTS_PER_ORIGIN - 3) * isolates;
      origins[`app-${o + 1}`] = {
        requests: REQUESTS_PER_ORIGIN * isolates,
        newSessions: isolates,
        moved: {},
        failures: {},
        responses: { '2xx': REQUESTS_PER_ORIGIN * isolates },
        latency,
        latencySumMs: 60 * isolates,
        lastRequestAt: 0,
      };
      const registers = new Uint8Array(1 << HLL_PRECISION);
      for (let s = 0; s < SESSIONS_PER_ORIGIN * isolates; s++) {
        const entry = sketchEntry(mix(100_000 + location, o, s));
        const register = Math.floor(entry / 64);
        registers[register] = Math.max(registers[register], entry % 64);
      }
      sessions[`app-${o + 1}`] = registers;
    }
    forwards.set(location, (forward = { origins, sessions, unserved: {} }));
  }
  for (const counts of Object.values(forward.origins)) counts.lastRequestAt = now;
  return forward;
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/__sim/report') {
      const isolate = Number(url.searchParams.get('isolate'));
      await env.HEALTH_MONITOR.getByName('fleet').recordTraffic(batchFor(isolate, Date.now()));
      return new Response(null, { status: 204 });
    }
    if (url.pathname === '/__sim/forward') {
      const location = Number(url.searchParams.get('location'));
      const isolates = Number(url.searchParams.get('isolates'));
      await env.HEALTH_MONITOR.getByName('fleet').recordTraffic(forwardFor(location, isolates, Date.now()));
      return new Response(null, { status: 204 });
    }
    if (url.pathname === '/__sim/snapshot') {
      await env.HEALTH_MONITOR.getByName('coordinator').snapshot();
      return new Response(null, { status: 204 });
    }
    if (url.pathname === '/__sim/view') {
      // The metrics' totals: those stored, up to the aggregator's persist interval behind.
      const view = await env.HEALTH_MONITOR.getByName('fleet').fleetMetrics();
      const requests = Object.values(view.totals.origins).reduce((sum, c) => sum + c.requests, 0);
      return Response.json({
        requests,
        activeSessions: view.activeSessionsTotal,
        origins: Object.keys(view.totals.origins).length,
      });
    }
    return worker.fetch(request, env, ctx);
  },
};
