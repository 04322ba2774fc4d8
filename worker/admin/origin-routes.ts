/**
 * One origin at a time: `GET /_affinity/origins/<id>` (its configuration, health and live figures,
 * and for a draining origin whether it is drained) and `PATCH /_affinity/origins/<id>` (its state
 * and weight, committed like a configuration PUT: validated, If-Match, stored, applied, told).
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import * as v from 'valibot';
import type { AppEnv } from '../bindings';
import { readConfig } from '../config/config-source';
import type { Config } from '../core/config/config-schema';
import { isDrained } from '../core/health/drain-rule';
import type { OriginFleetFacts } from '../monitor/fleet-protocol';
import { parseOriginPatch, patchOrigin } from '../core/config/origin-patch';
import { originStatus, type OriginStatus } from '../core/health/origin-status';
import type { IsolateState } from '../isolate-state';
import { DRAINING_TRAFFIC_REPORT_INTERVAL_MS, TRAFFIC_REPORT_INTERVAL_MS } from '../monitor/fleet-protocol';
import { LOCATION_DRAIN_FORWARD_INTERVAL_MS, LOCATION_LONGEST_HOLD_MS } from '../monitor/location-protocol';
import { commitConfig } from './config-commit';
import { NO_STORE } from './admin-answers';
import { readFleetOrigin, readHealthStatus, type Read } from './fleet-reads';
import type { HealthStatus } from '../monitor/monitor-protocol';
import { healthRecords, originControls } from './status-report';

/** How long a draining origin must go without requests to count as drained, unless `?idle=` says otherwise. */
export const DEFAULT_IDLE_SECONDS = 300;
/**
 * What "drained" allows for reports still on their way. A request from before the drain reaches the
 * aggregator within an isolate's report interval plus the longest its location object holds a report
 * (10 + 15 = 25 s);
 * an isolate that routes by the draining state reports its requests to the origin within
 * DRAINING_TRAFFIC_REPORT_INTERVAL_MS, and its location object forwards them within
 * LOCATION_DRAIN_FORWARD_INTERVAL_MS, plus the two calls (3 s in all).
 */
const DRAINED_REPORT_INTERVAL_MS = TRAFFIC_REPORT_INTERVAL_MS + LOCATION_LONGEST_HOLD_MS;
const DRAINED_REPORT_LAG_MS = DRAINING_TRAFFIC_REPORT_INTERVAL_MS + LOCATION_DRAIN_FORWARD_INTERVAL_MS + 1_000;

/**
 * Why `drained` is null for a draining origin when counting is off: nothing counts the requests of its
 * sessions, so no one can say they stopped, and a guess of "true" would stop a pod that still serves.
 */
const COUNTING_OFF =
  'AFFINITY_COUNTING is "off": requests are not counted, so whether this origin\'s sessions still make requests cannot be known';

const IdleQuerySchema = v.object({
  idle: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,6}$/, 'must be a whole number of seconds'),
      v.transform(Number),
      v.minValue(0, 'must be from 0 to 86400 seconds'),
      v.maxValue(86_400, 'must be from 0 to 86400 seconds'),
    ),
  ),
});

export function createOriginRoutes(isolate: IsolateState): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/origins/:id', (c) => describeOrigin(c, isolate));
  routes.patch(
    '/origins/:id',
    bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.json({ error: 'body larger than 64 KiB' }, 413) }),
    (c) => changeOrigin(c, isolate),
  );
  return routes;
}

async function describeOrigin(c: Context<AppEnv>, isolate: IsolateState): Promise<Response> {
  const query = v.safeParse(IdleQuerySchema, c.req.query());
  if (!query.success) {
    const problems = query.issues.map((issue) => ({ path: 'idle', message: issue.message }));
    return c.json({ error: 'invalid query', problems }, 400, NO_STORE);
  }
  const idleSeconds = query.output.idle ?? DEFAULT_IDLE_SECONDS;
  const id = c.req.param('id')!;
  const lookup = await isolate.config.lookup(c.env, Date.now(), (task) => c.executionCtx.waitUntil(task));
  const config = lookup.ok ? lookup.table.config : undefined;
  const origin = config?.origins.find((o) => o.id === id);
  if (!config || !origin) return c.json({ error: `no origin "${id}" in the configuration in force` }, 404, NO_STORE);
  const [monitor, fleet] = await Promise.all([readHealthStatus(c.env), readFleetOrigin(c.env, id)]);
  const controls = originControls(monitor, isolate);
  const row = originStatus(config, healthRecords(monitor, isolate, config.origins), controls).find((o) => o.id === id)!;
  const figures = fleet.ok ? fleet.value.figures : null;
  const drainingSince = row.state === 'draining' ? drainingSinceOf(monitor, row) : null;
  const counting = c.env.AFFINITY_COUNTING !== 'off';
  return c.json(
    {
      ...row,
      activeSessions: figures?.activeSessions ?? null,
      lastRequestAt: figures?.lastRequestAt ?? null,
      drained: row.state === 'draining' && counting ? drainedNow(fleet, drainingSince, idleSeconds) : null,
      ...(row.state === 'draining' && !counting && { drainedUnknown: COUNTING_OFF }),
      drainingSince,
      idle: idleSeconds,
      live: figures,
      fleet: fleet.ok
        ? { aggregator: 'ok', watchingSince: new Date(fleet.value.watchingSince).toISOString() }
        : { aggregator: 'unreachable', error: fleet.error },
    },
    200,
    NO_STORE,
  );
}

/**
 * Without the aggregator's word a draining origin is never called drained: a pod stopped on a guess
 * would break the sessions it still holds.
 */
function drainedNow(fleet: Read<OriginFleetFacts>, drainingSince: string | null, idleSeconds: number): boolean {
  return (
    fleet.ok &&
    isDrained(fleet.value, {
      idleMs: idleSeconds * 1000,
      drainingSince: drainingSince === null ? undefined : Date.parse(drainingSince),
      reportIntervalMs: DRAINED_REPORT_INTERVAL_MS,
      drainReportLagMs: DRAINED_REPORT_LAG_MS,
    })
  );
}

async function changeOrigin(c: Context<AppEnv>, isolate: IsolateState): Promise<Response> {
  const read = parseOriginPatch(parseJson(await c.req.text()));
  if (!read.ok) return c.json({ error: 'invalid origin change', problems: read.problems }, 400, NO_STORE);
  const base = await configToChange(c, isolate);
  if (!base) return c.json({ error: 'no configuration in force to change' }, 404, NO_STORE);
  const id = c.req.param('id')!;
  const patched = patchOrigin(base, id, read.patch);
  if (!patched.ok && patched.failure === 'unknown-origin') {
    return c.json({ error: `no origin "${id}" in the configuration` }, 404, NO_STORE);
  }
  if (!patched.ok) return c.json({ error: 'invalid configuration', problems: patched.problems }, 400, NO_STORE);
  const commit = await commitConfig(c, isolate, patched.config, { via: 'admin-patch' });
  if (!commit.ok) return c.json({ error: commit.error }, commit.status, NO_STORE);
  return c.json(patched.origin, 200, { ...NO_STORE, etag: commit.etag });
}

/**
 * What a PATCH changes: the configuration in KV when it is good (this isolate's copy may be up to
 * 10 s older, and a change made elsewhere meanwhile must not be undone), else the one in force here.
 */
async function configToChange(c: Context<AppEnv>, isolate: IsolateState): Promise<Config | undefined> {
  const stored = await readConfig(c.env.ORIGINS);
  if (stored.ok) return stored.config;
  const lookup = await isolate.config.lookup(c.env, Date.now(), (task) => c.executionCtx.waitUntil(task));
  return lookup.ok ? lookup.table.config : undefined;
}

/** The body as JSON, or a value the patch schema refuses as "must be a JSON object". */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * When the origin began draining, as an ISO time: by the operator's word, when the coordinator adopted
 * the configuration that says so; by its own, when it said `drain`. Null when that cannot be told.
 */
function drainingSinceOf(monitor: Read<HealthStatus>, row: OriginStatus): string | null {
  if (row.stateSetBy === 'origin') return row.control?.drainingSince ?? null;
  const entry = monitor.ok ? monitor.value.states[row.id] : undefined;
  return entry?.state === 'draining' ? new Date(entry.since).toISOString() : null;
}
