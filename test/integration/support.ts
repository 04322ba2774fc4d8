/**
 * Helpers of the integration tier: a fresh worker per test, configuration seeded into the real KV
 * binding, and origins simulated by stubbing `fetch` (these tests run inside workerd, next to the
 * worker's own code).
 */
import {
  abortAllDurableObjects,
  createExecutionContext,
  listDurableObjectIds,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { vi } from 'vitest';
import { createApp } from '../../worker/app';
import type { Bindings } from '../../worker/bindings';
import { parseConfigText } from '../../worker/core/config/config-parse';
import { healthPlan } from '../../worker/core/health/health-plan';
import { DEFAULT_LOCATION } from '../../worker/core/fleet/location-name';
import { locationObjectOf } from '../../worker/monitor/monitor-client';
import type { OriginHealth } from '../../worker/core/health/health-transition';
import { applyControlReport, controlsInForce, type OriginControls } from '../../worker/core/control/origin-control';
import type {
  ControlReport,
  HealthSnapshot,
  HealthStatus,
  LastGoodConfig,
  PassiveFailure,
} from '../../worker/monitor/monitor-protocol';
import { fleetMetrics, fleetStatus, originFleetFacts } from '../../worker/core/fleet/fleet-answers';
import { fleetView, mergeBatch, newFleetWindow } from '../../worker/core/fleet/fleet-window';
import type {
  FleetLoad,
  FleetMetrics,
  FleetStatus,
  OriginFleetFacts,
  TrafficBatch,
} from '../../worker/monitor/fleet-protocol';
import { IsolateState, type IsolateStateOptions } from '../../worker/isolate-state';
import { sleep } from '../support/wait';
import type { RelayAnswer } from '../../worker/monitor/location-protocol';

export const testEnv = env as Bindings;

export async function seedConfig(config: unknown): Promise<void> {
  await testEnv.ORIGINS.put('config', typeof config === 'string' ? config : JSON.stringify(config));
}

/**
 * Stands in for the health monitor in proxy tests, so that they control what health says (the real
 * monitor, whose probes would go through the stubbed fetch, has tests of its own). Every object is
 * this one: the coordinator, the fleet aggregator, and the location object, which hands its snapshot
 * over as the coordinator answers it and forwards every traffic report at once (location-tier.test.ts
 * tests the real tier).
 */
export class FakeMonitor {
  unhealthy: string[] = [];
  planKey: string | null = null;
  records: Record<string, OriginHealth> = {};
  /** The configuration texts the admin API handed over. */
  readonly configured: string[] = [];
  syncs = 0;
  /** Snapshot reads, and how long each takes to answer. */
  snapshots = 0;
  snapshotsAnswered = 0;
  snapshotDelayMs = 0;
  readonly reports: PassiveFailure[][] = [];
  /** What isolates reported origins said of themselves, call by call; kept as the coordinator keeps it. */
  readonly controlReports: ControlReport[][] = [];
  controls: OriginControls = {};
  /** What the fleet aggregator answers a traffic report with (its load figures). */
  fleetLoad: Omit<FleetLoad, 'takenAt'> = { origins: {} };
  /** What `lastGoodConfig()` answers; an Error is thrown instead, as by an unreachable object. */
  lastGood: LastGoodConfig | null | Error = null;
  lastGoodCalls = 0;
  /** Traffic reports of the isolates, as the fleet aggregator would receive them. */
  readonly traffic: TrafficBatch[] = [];
  readonly #fleet = newFleetWindow(Date.now());

  binding(): Bindings['HEALTH_MONITOR'] {
    const snapshot = async (): Promise<HealthSnapshot> => {
      this.snapshots++;
      if (this.snapshotDelayMs > 0) await sleep(this.snapshotDelayMs);
      this.snapshotsAnswered++;
      return this.#snapshot();
    };
    const recordTraffic = async (batch: TrafficBatch): Promise<FleetLoad> => {
      this.traffic.push(structuredClone(batch));
      mergeBatch(this.#fleet, batch, Date.now());
      return { takenAt: Date.now(), ...structuredClone(this.fleetLoad) };
    };
    const syncWithKv = async () => void this.syncs++;
    const stub = {
      snapshot,
      relayedSnapshot: snapshot,
      relaySync: syncWithKv,
      relayTraffic: async (batch: TrafficBatch): Promise<RelayAnswer> => {
        const load = await recordTraffic(batch);
        const round = this.traffic.length;
        const ledger = { fake: { round, at: Date.now() } };
        return { incarnation: 'fake', receipt: { incarnation: 'fake', round }, ledger, load };
      },
      reportControl: async (reports: ControlReport[]): Promise<HealthSnapshot> => {
        this.controlReports.push(structuredClone(reports));
        for (const report of reports) {
          this.controls[report.originId] = applyControlReport(this.controls[report.originId], report, undefined);
        }
        return this.#snapshot();
      },
      configure: async (text: string) => {
        const parsed = parseConfigText(text);
        if (!parsed.ok) throw new Error('configure() takes a validated configuration');
        this.configured.push(text);
        this.planKey = healthPlan(parsed.config).key;
        this.lastGood = { text, source: 'admin', adoptedAt: Date.now() };
      },
      lastGoodConfig: async (): Promise<LastGoodConfig | null> => {
        this.lastGoodCalls++;
        if (this.lastGood instanceof Error) throw this.lastGood;
        return this.lastGood;
      },
      syncWithKv,
      report: async (failures: PassiveFailure[]) => void this.reports.push(failures),
      recordTraffic,
      // Answered from memory: this stand-in stores nothing, so its metrics are its live totals.
      fleetStatus: async (ids: string[]): Promise<FleetStatus> => fleetStatus(this.#view(), ids),
      fleetOrigin: async (id: string): Promise<OriginFleetFacts> => originFleetFacts(this.#view(), id),
      fleetMetrics: async (): Promise<FleetMetrics> => fleetMetrics(this.#view(), this.#fleet.totals),
      status: async (): Promise<HealthStatus> => ({
        planKey: this.planKey,
        takenAt: Date.now(),
        shards: 1,
        origins: this.records,
        states: {},
        controls: this.#controlsInForce(),
      }),
    };
    return { getByName: () => stub } as unknown as Bindings['HEALTH_MONITOR'];
  }

  #view() {
    return fleetView(this.#fleet, Date.now());
  }

  #snapshot(): HealthSnapshot {
    return { planKey: this.planKey, takenAt: Date.now(), unhealthy: this.unhealthy, controls: this.#controlsInForce() };
  }

  #controlsInForce() {
    return controlsInForce(this.controls, (id) => this.records[id]?.recoveredAt);
  }
}

/**
 * A worker with a fresh isolate state, as after a deploy, and a fake health monitor. Its isolate
 * reports traffic behind every response (instead of every 10 s), so that a test awaiting the
 * response's background work sees the report and never waits for a timer.
 */
export function freshWorker(overrides: Partial<Bindings> = {}, options: Omit<IsolateStateOptions, 'traffic'> = {}) {
  const isolate = new IsolateState({ ...options, traffic: { reportIntervalMs: 0 } });
  const app = createApp(isolate);
  const monitor = new FakeMonitor();
  const bindings = { ...testEnv, HEALTH_MONITOR: monitor.binding(), ...overrides } as Bindings;
  return {
    isolate,
    monitor,
    /** The response, once the work behind it (`waitUntil`) is done too. */
    async fetch(input: string | Request, init?: RequestInit): Promise<Response> {
      const { response, behind } = await this.respond(input, init);
      await behind;
      return response;
    },
    /** The response as soon as the client would have it, and the work behind it, still going on. */
    async respond(input: string | Request, init?: RequestInit): Promise<{ response: Response; behind: Promise<void> }> {
      const ctx = createExecutionContext();
      // A Request is handed over as it is: some tests build one as workerd delivers it (see client-failures).
      const request = input instanceof Request && !init ? input : new Request(input, init);
      const response = await app.fetch(request, bindings, ctx);
      return { response, behind: waitOnExecutionContext(ctx) };
    },
  };
}

export type OriginBehaviour = (request: Request) => Response | Promise<Response>;

/**
 * Stubs outbound `fetch`: each origin is a host name mapped to a behaviour; `refuse` throws the
 * error workerd throws for a refused connection. Like the real fetch, an aborted request rejects with
 * its signal's reason, whatever the origin was doing. Returns the list of requests the origins saw.
 */
export function stubOrigins(origins: Record<string, OriginBehaviour | 'refuse'>): Request[] {
  const seen: Request[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input as RequestInfo, init as RequestInit);
    seen.push(request);
    const behaviour = origins[new URL(request.url).hostname];
    if (!behaviour) throw new Error(`no stubbed origin for ${request.url}`);
    if (behaviour === 'refuse') throw new Error('Network connection lost.');
    return untilAborted(request.signal, () => behaviour(request));
  });
  return seen;
}

function untilAborted(signal: AbortSignal, answer: () => Response | Promise<Response>): Promise<Response> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    Promise.resolve().then(answer).then(resolve, reject);
  });
}

/** An origin that answers with its own name. */
export const answersWith =
  (name: string): OriginBehaviour =>
  () =>
    new Response(`served by ${name}`, { headers: { 'x-served-by': name } });

/** The `name=value` of the affinity cookie a response set, if any. */
export function affinityCookie(response: Response, name = '__affinity'): string | undefined {
  return response.headers
    .getSetCookie()
    .find((cookie) => cookie.startsWith(`${name}=`))
    ?.split(';')[0];
}

/** Every object of the health monitor emptied (storage and alarm) and evicted, so the next test starts from nothing. */
export async function emptyHealthMonitors(): Promise<void> {
  for (const id of await listDurableObjectIds(testEnv.HEALTH_MONITOR)) {
    await runInDurableObject(testEnv.HEALTH_MONITOR.get(id), async (_, state) => {
      await state.storage.deleteAlarm();
      await state.storage.deleteAll();
    });
  }
  await abortAllDurableObjects();
}

/**
 * What the location objects hold goes to the fleet aggregator now, as their alarms would send it
 * within 10 s (the first report after a quiet interval goes at once by itself): the fleet's figures
 * come through them. Isolates of the test runtime have no `request.cf`, so one location unless a
 * test's requests name theirs.
 */
export async function forwardLocations(locations: readonly string[] = [DEFAULT_LOCATION]): Promise<void> {
  for (const location of locations) await runDurableObjectAlarm(locationObjectOf(testEnv.HEALTH_MONITOR, location));
}
