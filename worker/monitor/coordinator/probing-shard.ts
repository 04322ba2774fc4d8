/**
 * The probing shard role: the origins one object probes (its orders), its alarm, and the health
 * records it keeps and sends to the coordinator.
 *
 * Every object of the monitor that has orders plays it, the coordinator too (it probes shard 0). The
 * alarm probes the shard, applies the rise/fall transitions, stores, sends its records, and is re-armed in
 * `finally`, so one failed round never stops the probing.
 */
import type { Bindings } from '../../bindings';
import { applyPassiveFailures, applyProbe, initialHealth } from '../../core/health/health-transition';
import { errorMessage, logEvent } from '../../log';
import { coordinatorOf } from '../monitor-client';
import type { PassiveFailure, ShardOrders } from '../monitor-protocol';
import type { HealthRecords, MonitorStorage } from '../monitor-storage';
import { probeAll } from './probe';

/** What a probing object holds in memory, read back from storage when it starts. */
export interface ShardMemory {
  orders?: ShardOrders;
  records: HealthRecords;
}

export interface ProbeRoundOptions {
  /** Runs after a round that completed, before the alarm is re-armed (the coordinator supervises its shards). */
  afterRound?: (startedAt: number) => Promise<void>;
}

export class ProbingShard {
  constructor(
    private readonly memory: ShardMemory,
    private readonly storage: MonitorStorage,
    private readonly env: Bindings,
    /** Whether this object is the coordinator, which keeps every shard's records, not only its own. */
    private readonly keepsEveryShard: () => boolean,
  ) {}

  get orders(): ShardOrders | undefined {
    return this.memory.orders;
  }

  /** Takes (or, with null, drops) a shard's orders; `seed` carries what was known of its origins. */
  async assign(orders: ShardOrders | null, seed: HealthRecords): Promise<void> {
    if (!orders) {
      this.memory.orders = undefined;
      await this.storage.clear();
      return;
    }
    this.memory.orders = orders;
    const known = (id: string) => this.memory.records[id] ?? seed[id] ?? initialHealth();
    if (this.keepsEveryShard()) for (const { id } of orders.origins) this.memory.records[id] = known(id);
    else this.memory.records = Object.fromEntries(orders.origins.map(({ id }) => [id, known(id)]));
    await this.storage.write({ orders, records: this.memory.records });
    await this.storage.setAlarm(Date.now()); // new orders are probed at once
  }

  async applyPassive(failures: PassiveFailure[]): Promise<void> {
    const orders = this.memory.orders;
    if (!orders) return;
    const { records } = this.memory;
    for (const { originId, count, error, at } of failures) {
      const current = records[originId];
      if (current) records[originId] = applyPassiveFailures(current, count, error, at, orders.health);
    }
    await this.storage.write({ records });
    await this.#sendRecords(orders);
  }

  /** One probe round (the alarm). */
  async probeRound({ afterRound }: ProbeRoundOptions = {}): Promise<void> {
    const orders = this.memory.orders;
    if (!orders) return;
    const startedAt = Date.now();
    try {
      const outcomes = await probeAll(orders.origins, orders.health);
      if (this.memory.orders?.generation !== orders.generation) return; // new orders arrived meanwhile
      const { records } = this.memory;
      for (const [id, outcome] of outcomes) {
        records[id] = applyProbe(records[id] ?? initialHealth(), outcome, orders.health);
      }
      await this.storage.write({ records });
      await this.#sendRecords(orders);
      await afterRound?.(startedAt);
    } catch (error) {
      logEvent('error', 'health.round-failed', { shard: orders.shard, error: errorMessage(error) });
    } finally {
      await this.#rearm(orders, startedAt);
    }
  }

  /** The next round one interval after this one started; at once for orders that arrived meanwhile. */
  async #rearm(orders: ShardOrders, startedAt: number): Promise<void> {
    const current = this.memory.orders;
    if (!current) return;
    const renewed = current.generation !== orders.generation;
    const due = renewed ? Date.now() : startedAt + current.health.interval * 1000;
    await this.storage.setAlarm(Math.max(Date.now(), due));
  }

  /** Shards report to the coordinator (whose own shard is in its records already), and stop when told. */
  async #sendRecords(orders: ShardOrders): Promise<void> {
    if (orders.shard === 0) return;
    const mine = Object.fromEntries(orders.origins.map(({ id }) => [id, this.memory.records[id]!]));
    const { stop } = await coordinatorOf(this.env.HEALTH_MONITOR).takeShardRecords(
      orders.shard,
      orders.generation,
      mine,
    );
    if (stop) await this.assign(null, {});
  }
}
