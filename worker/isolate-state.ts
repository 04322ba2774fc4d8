/**
 * Everything an isolate keeps between requests: the configuration in force, the imported keys, what
 * it knows of origin health and of what origins said of themselves, the load it places by, and the
 * location it runs in. One instance per worker instance, so tests can start clean.
 */
import { RebalanceRate } from './core/routing/rebalance-rate';
import { importStateKey } from './core/session/sealed-state';
import type { Bindings } from './bindings';
import { ConfigStore } from './config/config-store';
import { coordinatorOf } from './monitor/monitor-client';
import { importSigningKey } from './core/session/affinity-token';
import type { HealthConfig } from './core/config/config-schema';
import { importEnvelopeKey } from './core/session/learned-envelope';
import { RetryBudget, type RetryBudgetOptions } from './core/failover/retry-budget';
import type { Availability } from './core/routing/route-plan';
import type { ControlsInForce } from './core/control/origin-control';
import { withOriginControls, type RoutingTable } from './core/routing/routing-table';
import { ControlReporter } from './health/control-reporter';
import { HealthView } from './health/health-view';
import { ejectionMs, LocalEjections } from './health/local-ejections';
import { locationObjectOf, type LocationObject } from './monitor/monitor-client';
import { DEFAULT_LOCATION, locationOf } from './core/fleet/location-name';
import { PassiveReporter } from './health/passive-reporter';
import type { AttemptFailure } from './core/failover/failed-attempt';
import { SigningKeyCache } from './signing-keys';
import { writeDecision } from './fleet/analytics';
import { PlacementLoad } from './fleet/placement-load';
import { TrafficReporter, type TrafficReporterOptions } from './fleet/traffic-reporter';
import type { DecisionRecord } from './core/routing/decision-record';

export interface IsolateStateOptions {
  /** How this isolate reports its traffic to the fleet aggregator. @default {} (every 10 s) */
  traffic?: TrafficReporterOptions;
  /** How many resends of uncertain attempts this isolate allows. @default {} (20% of requests + 10/s over 10 s) */
  retryBudget?: RetryBudgetOptions;
}

/** What a proxied request contributes to the fleet's figures besides its decision record. */
export interface CountedSession {
  /**
   * Goes into the distinct-session sketch only: never logged, never sent as it is. Undefined for a
   * request that names no session (session-reading.ts, `countedKey`): a request, not a session.
   */
  sessionId: string | undefined;
  /**
   * The Cloudflare location (colo) that served the request, for Analytics Engine: asked only when that
   * is bound, because reading `request.cf` makes the runtime build it, an object of some dozens of
   * fields (`npm run bench:profile` showed it as 8% of a steady-state request's samples).
   */
  location: () => string | undefined;
  /** The request went to an origin that is draining: its report is due within a second. */
  draining: boolean;
}

export class IsolateState {
  readonly config = new ConfigStore((env) => coordinatorOf(env.HEALTH_MONITOR).lastGoodConfig());
  readonly keys = new SigningKeyCache(importSigningKey);
  /** Derived only once a request or a response has a learned value to open or seal. */
  readonly envelopeKeys = new SigningKeyCache(importEnvelopeKey);
  #rebalance?: RebalanceRate;
  /** The sealed states' keys (`affinity.handoff`), derived on first use. */
  readonly stateKeys = new SigningKeyCache(importStateKey);
  readonly ejections = new LocalEjections();
  readonly health = new HealthView();
  readonly reporter = new PassiveReporter();
  readonly controlReporter = new ControlReporter();
  readonly traffic: TrafficReporter;
  readonly load = new PlacementLoad();
  /** Bounds how many requests are re-sent after attempts that may have reached their origin. */
  readonly retryBudget: RetryBudget;
  #routed?: { base: RoutingTable; controls: ControlsInForce; table: RoutingTable };
  #location?: string;

  constructor({ traffic, retryBudget }: IsolateStateOptions = {}) {
    this.traffic = new TrafficReporter(traffic);
    this.retryBudget = new RetryBudget(retryBudget);
  }

  /**
   * The table requests route by: the configuration's, with each origin's state and weight in force
   * (what origins said of themselves, from the health snapshot). Rebuilt only when either changes.
   */
  routingTable(base: RoutingTable): RoutingTable {
    const { controls } = this.health;
    const routed = this.#routed;
    if (routed?.base === base && routed.controls === controls) return routed.table;
    return (this.#routed = { base, controls, table: withOriginControls(base, controls) }).table;
  }

  /** This isolate's rate of rebalancing moves (`affinity.rebalance.rate`); a new rate starts a new bucket. */
  rebalanceRate(rate: number): RebalanceRate {
    if (this.#rebalance?.rate !== rate) this.#rebalance = new RebalanceRate(rate);
    return this.#rebalance;
  }

  /**
   * Takes this isolate's location from the first request that comes: an isolate runs in one location
   * all its life, and `request.cf` is built when it is read (the cost `CountedSession.location` avoids).
   */
  locate(colo: () => unknown): void {
    this.#location ??= locationOf(colo());
  }

  /** The object of this isolate's location: its health snapshot and traffic reports go through it. */
  locationObject(env: Bindings): LocationObject {
    return locationObjectOf(env.HEALTH_MONITOR, this.#location ?? DEFAULT_LOCATION);
  }

  /** A failed connection here outranks the snapshot: it is newer. */
  availability(originId: string, now: number): Availability {
    if (this.ejections.isEjected(originId, now)) return 'connect-failed';
    return this.health.isUnhealthy(originId) ? 'unhealthy' : 'up';
  }

  /**
   * An origin that could not be reached, or whose connection broke, is skipped by this isolate's next
   * requests and reported to the monitor. The proxy hands over only failures that say so
   * (failed-attempt.ts: not a timeout), and only a request's first.
   */
  recordFailure(failure: AttemptFailure, health: HealthConfig, now: number): void {
    this.ejections.eject(failure.originId, now, ejectionMs(health));
    this.reporter.record(failure, now);
  }

  /**
   * Counts a routing decision for the fleet's figures, and writes it to Analytics Engine when that is
   * bound. In memory only: the report goes out later, behind a response (`upkeep`).
   */
  countRequest(env: Bindings, record: DecisionRecord, { sessionId, location, draining }: CountedSession, now: number) {
    if (env.AFFINITY_COUNTING !== 'off') this.traffic.count(record, sessionId, now, { draining });
    if (env.AFFINITY_ANALYTICS) writeDecision(env.AFFINITY_ANALYTICS, record, location());
  }

  /**
   * Background work after a request: refresh the health snapshot, send passive, origin-control and
   * traffic reports. Never awaited.
   */
  upkeep(env: Bindings, table: RoutingTable, now: number, background: (task: Promise<unknown>) => void): void {
    const location = () => this.locationObject(env);
    this.health.refreshIfDue(location, table.healthPlan, now, background);
    this.reporter.flushIfDue(env, now, background);
    this.controlReporter.flushIfDue(env, this.health, now, background);
    this.traffic.scheduleReport(location, now, background);
  }
}
