/**
 * The Durable Object that owns origin health (see monitor-protocol.ts for the roles of its objects).
 *
 * Storage is the source of truth: the plan, this object's orders and its records are written before
 * anything relies on them — the coordinator's configuration, the plan derived from it and its own
 * orders in one write — and read back when an object starts, so an eviction or a restart loses
 * nothing. The alarm probes the object's shard, applies the rise/fall transitions, publishes, and is
 * re-armed in `finally`, so one failed round never stops the probing.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Bindings } from '../bindings';
import { validateConfigText } from '../config/config-source';
import type { Config } from '../core/config-schema';
import { healthPlan, splitIntoShards, type HealthPlan } from '../core/health-plan';
import { applyPassiveFailures, applyProbe, initialHealth, type OriginHealth } from '../core/health-transition';
import { errorMessage, logEvent } from '../log';
import {
  shardName,
  type HealthSnapshot,
  type HealthStatus,
  type LastGoodConfig,
  type PassiveFailure,
  type ShardOrders,
} from './monitor-protocol';
import { AUTHORITATIVE_MS, KV_SYNC_INTERVAL_MS, newConfigInKv } from './plan-source';
import { probeAll } from './probe';

type Records = Record<string, OriginHealth>;

interface CoordinatorPlan {
  plan: HealthPlan;
  generation: number;
  shards: number;
  /** Until when this plan, handed over by the admin API, outranks what KV says. */
  authoritativeUntil: number;
}

/** A shard silent for this many intervals is given its orders again (it may have lost its storage). */
const SILENT_INTERVALS = 3;

export class OriginHealthMonitor extends DurableObject<Bindings> {
  #orders?: ShardOrders;
  /** This object's shard; on the coordinator, every shard's (the others as last published). */
  #records: Records = {};
  /** Coordinator only: the configuration adopted last, and the plan derived from it. */
  #config?: LastGoodConfig;
  #plan?: CoordinatorPlan;
  #heardFrom: Record<number, number> = {};
  #syncedAt = -Infinity;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.get<unknown>(['orders', 'records', 'config', 'plan', 'heardFrom']);
      this.#orders = stored.get('orders') as ShardOrders | undefined;
      this.#records = (stored.get('records') as Records | undefined) ?? {};
      this.#config = stored.get('config') as LastGoodConfig | undefined;
      this.#plan = stored.get('plan') as CoordinatorPlan | undefined;
      this.#heardFrom = (stored.get('heardFrom') as Record<number, number> | undefined) ?? {};
    });
  }

  // ——— coordinator: called by the admin API, isolates and the cron trigger ———

  /** A configuration the admin API has just stored (its text): adopted at once, whatever KV says. */
  async configure(text: string): Promise<void> {
    const read = validateConfigText(text);
    if (!read.ok) throw new Error('configure() takes a configuration the admin API has validated');
    const now = Date.now();
    await this.#adopt({ text, source: 'admin', adoptedAt: now }, read.config, now + AUTHORITATIVE_MS);
  }

  /** Asked when an isolate's plan differs from this one's, and once a minute: adopts the configuration in KV. */
  async syncWithKv(): Promise<void> {
    const now = Date.now();
    const fresh = now < (this.#plan?.authoritativeUntil ?? 0) || now - this.#syncedAt < KV_SYNC_INTERVAL_MS;
    if (!fresh) {
      this.#syncedAt = now;
      const changed = await newConfigInKv(this.env.ORIGINS, this.#config?.text);
      // An admin configuration that arrived during the read outranks it: KV may not show it yet.
      if (changed && Date.now() >= (this.#plan?.authoritativeUntil ?? 0)) {
        return this.#adopt({ text: changed.text, source: 'kv', adoptedAt: now }, changed.config, 0);
      }
    }
    await this.#ensureProbing();
  }

  /** For an isolate that starts while KV holds nothing usable: what was adopted last, if anything. */
  lastGoodConfig(): LastGoodConfig | null {
    return this.#config ?? null;
  }

  snapshot(): HealthSnapshot {
    const unhealthy = Object.entries(this.#records).filter(([, h]) => h.state === 'unhealthy');
    return { planKey: this.#plan?.plan.key ?? null, takenAt: Date.now(), unhealthy: unhealthy.map(([id]) => id) };
  }

  status(): HealthStatus {
    const { plan, shards = 0 } = this.#plan ?? {};
    return { planKey: plan?.key ?? null, takenAt: Date.now(), shards, origins: this.#records };
  }

  /** Passive failure reports, passed to the shard that owns each origin. */
  async report(failures: PassiveFailure[]): Promise<void> {
    if (!this.#plan) return;
    await Promise.all(
      splitIntoShards(this.#plan.plan).map((origins, shard) => {
        const ids = new Set(origins.map((o) => o.id));
        const mine = failures.filter((f) => ids.has(f.originId));
        if (mine.length === 0) return;
        return shard === 0 ? this.applyPassive(mine) : this.#stub(shard).applyPassive(mine);
      }),
    );
  }

  // ——— coordinator: called by shards ———

  /** Takes a shard's records; tells a shard the plan no longer has to stop. */
  async publish(shard: number, generation: number, records: Records): Promise<{ stop: boolean }> {
    if (!this.#plan || shard >= this.#plan.shards) return { stop: true };
    if (generation !== this.#plan.generation) return { stop: false }; // its new orders are on their way
    Object.assign(this.#records, records);
    this.#heardFrom[shard] = Date.now();
    await this.ctx.storage.put({ records: this.#records, heardFrom: this.#heardFrom });
    return { stop: false };
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
    const known = (id: string) => this.#records[id] ?? seed[id] ?? initialHealth();
    // The coordinator keeps every shard's records; any other object keeps its own shard's only.
    if (this.#plan) for (const { id } of orders.origins) this.#records[id] = known(id);
    else this.#records = Object.fromEntries(orders.origins.map(({ id }) => [id, known(id)]));
    await this.ctx.storage.put({ orders, records: this.#records });
    await this.ctx.storage.setAlarm(Date.now()); // new orders are probed at once
  }

  async applyPassive(failures: PassiveFailure[]): Promise<void> {
    const orders = this.#orders;
    if (!orders) return;
    for (const { originId, count, error, at } of failures) {
      const current = this.#records[originId];
      if (current) this.#records[originId] = applyPassiveFailures(current, count, error, at, orders.health);
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
      logEvent('error', 'health.round-failed', { shard: orders.shard, error: errorMessage(error) });
    } finally {
      if (this.#orders) {
        const renewed = this.#orders.generation !== orders.generation;
        const due = renewed ? Date.now() : startedAt + this.#orders.health.interval * 1000;
        await this.ctx.storage.setAlarm(Math.max(Date.now(), due));
      }
    }
  }

  // ——— internals ———

  /**
   * Adopts a configuration and probes its plan, split into shards. The configuration, its plan and the
   * coordinator's own orders are stored in one write, so the last good configuration and what is
   * probed never disagree. A change that leaves the plan as it is (a weight, a state) is kept all the same.
   */
  async #adopt(adopted: LastGoodConfig, config: Config, authoritativeUntil: number): Promise<void> {
    const plan = healthPlan(config);
    this.#config = adopted;
    if (plan.key === this.#plan?.plan.key) {
      this.#plan.authoritativeUntil = Math.max(this.#plan.authoritativeUntil, authoritativeUntil);
      await this.ctx.storage.put({ config: adopted, plan: this.#plan });
      return this.#ensureProbing();
    }
    const shards = splitIntoShards(plan);
    const previousShards = this.#plan?.shards ?? 1;
    const generation = (this.#plan?.generation ?? 0) + 1;
    this.#plan = { plan, generation, shards: shards.length, authoritativeUntil };
    this.#orders = ordersFor(this.#plan, shards, 0);
    this.#records = Object.fromEntries(plan.origins.map(({ id }) => [id, this.#records[id] ?? initialHealth()]));
    this.#heardFrom = Object.fromEntries(range(1, shards.length).map((shard) => [shard, Date.now()]));
    await this.ctx.storage.put({
      config: adopted,
      plan: this.#plan,
      orders: this.#orders,
      records: this.#records,
      heardFrom: this.#heardFrom,
    });
    await this.ctx.storage.setAlarm(Date.now());
    logEvent('info', 'health.plan', { origins: plan.origins.length, shards: shards.length, generation });
    await Promise.all([
      ...range(1, shards.length).map((shard) => this.#sendOrders(ordersFor(this.#plan!, shards, shard))),
      ...range(shards.length, previousShards).map((shard) => this.#stub(shard).assign(null, {})),
    ]);
  }

  /** Probing runs, for the coordinator with orders of its current plan (a restart may have cut in between). */
  async #ensureProbing(): Promise<void> {
    if (this.#plan && this.#orders?.generation !== this.#plan.generation) {
      return this.assign(ordersFor(this.#plan, splitIntoShards(this.#plan.plan), 0), {});
    }
    if (this.#orders && (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now());
  }

  /** Shards report to the coordinator (whose own shard is in its records already), and stop when told. */
  async #publish(orders: ShardOrders): Promise<void> {
    if (orders.shard === 0) return;
    const mine = Object.fromEntries(orders.origins.map(({ id }) => [id, this.#records[id]!]));
    const { stop } = await this.#stub(0).publish(orders.shard, orders.generation, mine);
    if (stop) await this.assign(null, {});
  }

  async #sendOrders(orders: ShardOrders): Promise<void> {
    const seed = Object.fromEntries(orders.origins.map(({ id }) => [id, this.#records[id]!]));
    await this.#stub(orders.shard).assign(orders, seed);
  }

  /** The coordinator re-sends orders to shards it has not heard from in a while. */
  async #superviseShards(now: number): Promise<void> {
    const current = this.#plan;
    if (!current || current.shards < 2) return;
    const silentAfter = now - SILENT_INTERVALS * current.plan.health.interval * 1000;
    const shards = splitIntoShards(current.plan);
    for (const shard of range(1, shards.length).filter((s) => (this.#heardFrom[s] ?? 0) < silentAfter)) {
      this.#heardFrom[shard] = now; // one reminder per silent period
      await this.#sendOrders(ordersFor(current, shards, shard)).catch((error: unknown) =>
        logEvent('warn', 'health.shard-unreachable', { shard, error: errorMessage(error) }),
      );
    }
  }

  #stub(shard: number) {
    return this.env.HEALTH_MONITOR.getByName(shardName(shard));
  }
}

function ordersFor(current: CoordinatorPlan, shards: HealthPlan['origins'][], shard: number): ShardOrders {
  return { generation: current.generation, shard, health: current.plan.health, origins: shards[shard]! };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
