/**
 * The Durable Object that owns origin health (see monitor-protocol.ts for the roles of its objects).
 *
 * Storage is the source of truth: orders, records and the plan are written before anything relies on
 * them and read back when an object starts, so an eviction or a restart loses nothing. The alarm
 * probes the object's shard, applies the rise/fall transitions, publishes, and is re-armed in
 * `finally`, so one failed round never stops the probing.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Bindings } from '../bindings';
import { splitIntoShards, type HealthPlan } from '../core/health-plan';
import { applyPassiveFailures, applyProbe, initialHealth, type OriginHealth } from '../core/health-transition';
import { logEvent } from '../log';
import {
  shardName,
  type HealthSnapshot,
  type HealthStatus,
  type PassiveFailure,
  type ShardOrders,
} from './monitor-protocol';
import { probeAll } from './probe';

type Records = Record<string, OriginHealth>;

interface CoordinatorPlan {
  plan: HealthPlan;
  generation: number;
  shards: number;
}

/** A shard silent for this many intervals is given its orders again (it may have lost its storage). */
const SILENT_INTERVALS = 3;

export class OriginHealthMonitor extends DurableObject<Bindings> {
  #orders?: ShardOrders;
  /** This object's shard; on the coordinator, every shard's (the others as last published). */
  #records: Records = {};
  /** Coordinator only. */
  #plan?: CoordinatorPlan;
  #heardFrom: Record<number, number> = {};

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.get<unknown>(['orders', 'records', 'plan', 'heardFrom']);
      this.#orders = stored.get('orders') as ShardOrders | undefined;
      this.#records = (stored.get('records') as Records | undefined) ?? {};
      this.#plan = stored.get('plan') as CoordinatorPlan | undefined;
      this.#heardFrom = (stored.get('heardFrom') as Record<number, number> | undefined) ?? {};
    });
  }

  // ——— coordinator: called by isolates ———

  /** Adopts a plan: splits it into shards and gives every shard its orders. Same plan: makes sure probing runs. */
  async configure(plan: HealthPlan): Promise<void> {
    if (this.#plan?.plan.key === plan.key) return this.#ensureAlarm();
    const shards = splitIntoShards(plan);
    const previousShards = this.#plan?.shards ?? 1;
    const generation = (this.#plan?.generation ?? 0) + 1;
    this.#plan = { plan, generation, shards: shards.length };
    this.#records = Object.fromEntries(plan.origins.map(({ id }) => [id, this.#records[id] ?? initialHealth()]));
    this.#heardFrom = Object.fromEntries(range(1, shards.length).map((shard) => [shard, Date.now()]));
    await this.ctx.storage.put({ plan: this.#plan, records: this.#records, heardFrom: this.#heardFrom });
    logEvent('info', 'health.plan', { origins: plan.origins.length, shards: shards.length, generation });
    await Promise.all([
      ...shards.map((origins, shard) => this.#sendOrders({ generation, shard, health: plan.health, origins })),
      ...range(shards.length, previousShards).map((shard) => this.#stub(shard).assign(null, {})),
    ]);
  }

  snapshot(): HealthSnapshot {
    const unhealthy = Object.entries(this.#records).filter(([, h]) => h.state === 'unhealthy');
    return { planKey: this.#plan?.plan.key ?? null, takenAt: Date.now(), unhealthy: unhealthy.map(([id]) => id) };
  }

  status(): HealthStatus {
    return {
      planKey: this.#plan?.plan.key ?? null,
      takenAt: Date.now(),
      shards: this.#plan?.shards ?? 0,
      origins: this.#records,
    };
  }

  /** Passive failure reports, passed to the shard that owns each origin. */
  async report(failures: PassiveFailure[]): Promise<void> {
    if (!this.#plan) return;
    const shards = splitIntoShards(this.#plan.plan);
    await Promise.all(
      shards.map((origins, shard) => {
        const ids = new Set(origins.map((o) => o.id));
        const mine = failures.filter((f) => ids.has(f.originId));
        if (mine.length === 0) return;
        return shard === 0 ? this.applyPassive(mine) : this.#stub(shard).applyPassive(mine);
      }),
    );
  }

  // ——— coordinator: called by shards ———

  async publish(shard: number, generation: number, records: Records): Promise<void> {
    if (generation !== this.#plan?.generation) return;
    Object.assign(this.#records, records);
    this.#heardFrom[shard] = Date.now();
    await this.ctx.storage.put({ records: this.#records, heardFrom: this.#heardFrom });
  }

  // ——— every probing object ———

  /** Takes (or, with null, drops) a shard's orders; `seed` carries what was known of its origins. */
  async assign(orders: ShardOrders | null, seed: Records): Promise<void> {
    if (!orders) {
      this.#orders = undefined;
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      return;
    }
    this.#orders = orders;
    if (!this.#plan) {
      this.#records = Object.fromEntries(
        orders.origins.map(({ id }) => [id, this.#records[id] ?? seed[id] ?? initialHealth()]),
      );
    }
    await this.ctx.storage.put({ orders, records: this.#records });
    // New orders are probed at once, whenever the alarm of the old ones was due.
    await this.ctx.storage.setAlarm(Date.now());
  }

  async applyPassive(failures: PassiveFailure[]): Promise<void> {
    const orders = this.#orders;
    if (!orders) return;
    for (const failure of failures) {
      const current = this.#records[failure.originId];
      if (!current) continue;
      this.#records[failure.originId] = applyPassiveFailures(
        current,
        failure.count,
        failure.error,
        failure.at,
        orders.health,
      );
    }
    await this.ctx.storage.put('records', this.#records);
    await this.#publish(orders);
  }

  override async alarm(): Promise<void> {
    const orders = this.#orders;
    if (!orders) return;
    const startedAt = Date.now();
    try {
      const outcomes = await probeAll(orders.origins, orders.health);
      if (this.#orders?.generation !== orders.generation) return; // new orders arrived meanwhile
      for (const [id, outcome] of outcomes) {
        this.#records[id] = applyProbe(this.#records[id] ?? initialHealth(), outcome, orders.health);
      }
      await this.ctx.storage.put('records', this.#records);
      await this.#publish(orders);
      await this.#superviseShards(startedAt);
    } catch (error) {
      logEvent('error', 'health.round-failed', {
        shard: orders.shard,
        error: error instanceof Error ? error.message : String(error),
      });
    } finally {
      const interval = (this.#orders ?? orders).health.interval * 1000;
      if (this.#orders) await this.ctx.storage.setAlarm(Math.max(Date.now(), startedAt + interval));
    }
  }

  // ——— internals ———

  async #ensureAlarm(): Promise<void> {
    if (this.#orders && (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now());
  }

  /** Shards report to the coordinator; the coordinator's own shard is already in its records. */
  async #publish(orders: ShardOrders): Promise<void> {
    if (orders.shard === 0) return;
    const mine = Object.fromEntries(orders.origins.map(({ id }) => [id, this.#records[id]!]));
    await this.#stub(0).publish(orders.shard, orders.generation, mine);
  }

  async #sendOrders(orders: ShardOrders): Promise<void> {
    if (orders.shard === 0) return this.assign(orders, {});
    const seed = Object.fromEntries(orders.origins.map(({ id }) => [id, this.#records[id]!]));
    await this.#stub(orders.shard).assign(orders, seed);
  }

  /** The coordinator re-sends orders to shards it has not heard from in a while. */
  async #superviseShards(now: number): Promise<void> {
    const current = this.#plan;
    if (!current || current.shards < 2) return;
    const silentAfter = now - SILENT_INTERVALS * current.plan.health.interval * 1000;
    const shards = splitIntoShards(current.plan);
    const silent = range(1, shards.length).filter((shard) => (this.#heardFrom[shard] ?? 0) < silentAfter);
    for (const shard of silent) {
      this.#heardFrom[shard] = now; // one reminder per silent period
      const orders = { generation: current.generation, shard, health: current.plan.health, origins: shards[shard]! };
      await this.#sendOrders(orders).catch((error: unknown) =>
        logEvent('warn', 'health.shard-unreachable', {
          shard,
          error: error instanceof Error ? error.message : String(error),
        }),
      );
    }
  }

  #stub(shard: number) {
    return this.env.HEALTH_MONITOR.getByName(shardName(shard));
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
