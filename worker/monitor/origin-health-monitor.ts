/**
 * The Durable Object class of the health monitor, the deployment's control plane: a thin shell that
 * reads an object's memory back from storage when it starts and hands each call to the role it
 * belongs to. worker/monitor/ is its home: this class, its storage schema (monitor-storage.ts), the
 * stubs isolates and the admin API call it by (monitor-client.ts), what they say to it
 * (monitor-protocol.ts, fleet-protocol.ts, location-protocol.ts), and its three roles as siblings:
 *
 * - coordinator/: the object named "coordinator" (plan, shards, snapshot, passive reports, the last
 *   good configuration: coordinator.ts) and every object with orders, the coordinator included
 *   (orders, alarm, records: probing-shard.ts);
 * - aggregator/fleet-aggregator.ts: the object named "fleet" (every isolate's traffic, merged). It is an
 *   object of this class rather than a class of its own so that deploying it needs no new binding or
 *   migration; it shares no storage, memory or request queue with the health objects all the same.
 *   Its alarm stores its totals; a probing object's alarm probes;
 * - location/: every object named `location:<colo>` (the tier between isolates and the global objects:
 *   it keeps the coordinator's snapshot for its isolates and forwards their merged traffic reports to
 *   `fleet`; its alarm forwards). Each role's alarm work does nothing in an object that does not play
 *   it, so the one alarm handler runs them all.
 *
 * monitor-storage.ts documents what each role stores; monitor-client.ts builds every stub. The isolate's
 * side of each conversation lives elsewhere: health/ (the snapshot it routes by, its reports) and
 * fleet/ (its traffic reports, the load it places by).
 */
import { DurableObject } from 'cloudflare:workers';
import type { Bindings } from '../bindings';
import { FleetAggregator } from './aggregator/fleet-aggregator';
import { LOCATION_FORWARD_INTERVAL_MS, type RelayAnswer } from './location-protocol';
import { SnapshotRelay } from './location/snapshot-relay';
import { TrafficForwarder } from './location/traffic-forwarder';
import type { FleetLoad, FleetMetrics, FleetStatus, OriginFleetFacts, TrafficBatch } from './fleet-protocol';
import { Coordinator, type CoordinatorMemory } from './coordinator/coordinator';
import type {
  ControlReport,
  HealthSnapshot,
  HealthStatus,
  LastGoodConfig,
  PassiveFailure,
  ShardOrders,
} from './monitor-protocol';
import { MonitorStorage, type HealthRecords } from './monitor-storage';
import { ProbingShard, type ShardMemory } from './coordinator/probing-shard';

export class OriginHealthMonitor extends DurableObject<Bindings> {
  readonly #shardMemory: ShardMemory = { records: {} };
  readonly #coordinatorMemory: CoordinatorMemory = { heardFrom: {}, states: {}, controls: {} };
  readonly #shard: ProbingShard;
  readonly #coordinator: Coordinator;
  readonly #fleet: FleetAggregator;
  readonly #snapshotRelay: SnapshotRelay;
  readonly #forwarder: TrafficForwarder;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    const storage = new MonitorStorage(ctx.storage);
    this.#shard = new ProbingShard(this.#shardMemory, storage, env, () => this.#coordinator.coordinates);
    const own = { shard: this.#shard, memory: this.#shardMemory };
    this.#coordinator = new Coordinator(this.#coordinatorMemory, own, storage, env);
    this.#fleet = new FleetAggregator(storage, env.ORIGINS);
    this.#snapshotRelay = new SnapshotRelay(env);
    const phaseMs = (crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32) * LOCATION_FORWARD_INTERVAL_MS;
    this.#forwarder = new TrafficForwarder(storage, env, crypto.randomUUID(), phaseMs);
    void ctx.blockConcurrencyWhile(async () => {
      const stored = await storage.read([
        'orders',
        'records',
        'config',
        'states',
        'controls',
        'plan',
        'heardFrom',
        'fleet',
        'fleetWatchingSince',
        'relayLedger',
      ]);
      Object.assign(this.#shardMemory, { orders: stored.orders, records: stored.records ?? {} });
      Object.assign(this.#coordinatorMemory, {
        config: stored.config,
        states: stored.states ?? {},
        controls: stored.controls ?? {},
        plan: stored.plan,
        heardFrom: stored.heardFrom ?? {},
      });
      await this.#fleet.restore(stored.fleet, stored.fleetWatchingSince, Date.now());
      this.#forwarder.restore(stored.relayLedger);
    });
  }

  // ——— coordinator: called by the admin API, isolates and the cron trigger ———

  configure(text: string): Promise<void> {
    return this.#coordinator.configure(text);
  }

  syncWithKv(): Promise<void> {
    return this.#coordinator.syncWithKv();
  }

  lastGoodConfig(): LastGoodConfig | null {
    return this.#coordinator.lastGoodConfig();
  }

  snapshot(): HealthSnapshot {
    return this.#coordinator.snapshot();
  }

  status(): HealthStatus {
    return this.#coordinator.status();
  }

  report(failures: PassiveFailure[]): Promise<void> {
    return this.#coordinator.report(failures);
  }

  reportControl(reports: ControlReport[]): Promise<HealthSnapshot> {
    return this.#coordinator.reportControl(reports);
  }

  // ——— coordinator: called by shards ———

  takeShardRecords(shard: number, generation: number, records: HealthRecords): Promise<{ stop: boolean }> {
    return this.#coordinator.takeShardRecords(shard, generation, records);
  }

  // ——— fleet aggregator: called by isolates and the admin API ———

  recordTraffic(batch: TrafficBatch): Promise<FleetLoad> {
    return this.#fleet.recordTraffic(batch);
  }

  fleetStatus(ids: string[]): FleetStatus {
    return this.#fleet.status(ids);
  }

  fleetOrigin(id: string): OriginFleetFacts {
    return this.#fleet.origin(id);
  }

  fleetMetrics(): FleetMetrics {
    return this.#fleet.metrics();
  }

  // ——— location object: called by the isolates of its location ———

  relayedSnapshot(maxAgeMs: number): Promise<HealthSnapshot> {
    return this.#snapshotRelay.snapshot(maxAgeMs);
  }

  relaySync(): Promise<void> {
    return this.#snapshotRelay.askToSync();
  }

  relayTraffic(batch: TrafficBatch, options: { draining: boolean }): Promise<RelayAnswer> {
    return this.#forwarder.relayTraffic(batch, options);
  }

  // ——— probing shard: called by the coordinator ———

  assign(orders: ShardOrders | null, seed: HealthRecords): Promise<void> {
    return this.#shard.assign(orders, seed);
  }

  applyPassive(failures: PassiveFailure[]): Promise<void> {
    return this.#shard.applyPassive(failures);
  }

  override async alarm(): Promise<void> {
    await this.#fleet.storeTotals();
    await this.#forwarder.forward();
    await this.#shard.probeRound({ afterRound: (startedAt) => this.#coordinator.superviseShards(startedAt) });
  }
}
