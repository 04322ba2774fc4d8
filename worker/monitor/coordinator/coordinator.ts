/**
 * The coordinator role, played by the object named "coordinator": it adopts the configuration (from
 * the admin API, or read from KV itself: plan-source.ts), keeps it as the last good configuration,
 * derives the plan, splits it into shards and hands them out, takes the shards' records, the
 * isolates' passive reports and what they heard origins say of themselves (core/control/origin-control.ts), and
 * answers the snapshot every isolate routes by.
 *
 * The configuration, the plan derived from it and the coordinator's own orders are stored in one
 * write, so the last good configuration and what is probed never disagree.
 */
import type { Bindings } from '../../bindings';
import { validateConfigText } from '../../config/config-source';
import type { Config } from '../../core/config/config-schema';
import { healthPlan, splitIntoShards, type HealthPlan } from '../../core/health/health-plan';
import { initialHealth } from '../../core/health/health-transition';
import type { OriginControls } from '../../core/control/origin-control';
import { errorMessage, logEvent } from '../../log';
import { probingShardOf } from '../monitor-client';
import { OriginControlBook } from './origin-control-book';
import type {
  ControlReport,
  HealthSnapshot,
  HealthStatus,
  LastGoodConfig,
  OriginStates,
  PassiveFailure,
  ShardOrders,
} from '../monitor-protocol';
import type { CoordinatorPlan, HealthRecords, MonitorStorage } from '../monitor-storage';
import { AUTHORITATIVE_MS, KV_SYNC_INTERVAL_MS, newConfigInKv } from './plan-source';
import type { ProbingShard, ShardMemory } from './probing-shard';

/** A shard silent for this many intervals is given its orders again (it may have lost its storage). */
const SILENT_INTERVALS = 3;

/** What the coordinator holds in memory besides its own shard's, read back from storage when it starts. */
export interface CoordinatorMemory {
  config?: LastGoodConfig;
  states: OriginStates;
  controls: OriginControls;
  plan?: CoordinatorPlan;
  heardFrom: Record<number, number>;
}

export class Coordinator {
  #syncedAt = -Infinity;
  readonly #controls: OriginControlBook;

  constructor(
    private readonly memory: CoordinatorMemory,
    /** The coordinator's own probing: shard 0, and every shard's records. */
    private readonly own: { shard: ProbingShard; memory: ShardMemory },
    private readonly storage: MonitorStorage,
    private readonly env: Bindings,
  ) {
    this.#controls = new OriginControlBook(memory, () => own.memory.records);
  }

  /** Whether this object coordinates (has ever adopted a plan). */
  get coordinates(): boolean {
    return this.memory.plan !== undefined;
  }

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
    const fresh = now < (this.memory.plan?.authoritativeUntil ?? 0) || now - this.#syncedAt < KV_SYNC_INTERVAL_MS;
    if (!fresh) {
      this.#syncedAt = now;
      const changed = await newConfigInKv(this.env.ORIGINS, this.memory.config?.text);
      // An admin configuration that arrived during the read outranks it: KV may not show it yet.
      if (changed && Date.now() >= (this.memory.plan?.authoritativeUntil ?? 0)) {
        return this.#adopt({ text: changed.text, source: 'kv', adoptedAt: now }, changed.config, 0);
      }
    }
    await this.#ensureProbing();
  }

  /** For an isolate that starts while KV holds nothing usable: what was adopted last, if anything. */
  lastGoodConfig(): LastGoodConfig | null {
    return this.memory.config ?? null;
  }

  snapshot(): HealthSnapshot {
    const unhealthy = Object.entries(this.own.memory.records).filter(([, h]) => h.state === 'unhealthy');
    return {
      planKey: this.memory.plan?.plan.key ?? null,
      takenAt: Date.now(),
      unhealthy: unhealthy.map(([id]) => id),
      controls: this.#controls.inForce(),
    };
  }

  status(): HealthStatus {
    const { plan, shards = 0 } = this.memory.plan ?? {};
    const { records } = this.own.memory;
    const { states } = this.memory;
    return {
      planKey: plan?.key ?? null,
      takenAt: Date.now(),
      shards,
      origins: records,
      states,
      controls: this.#controls.inForce(),
    };
  }

  /**
   * What isolates heard origins say of themselves (`drain`, `ready`, `weight=<n>%`): kept, stored, and
   * answered with the snapshot that includes it, so the reporting isolate routes by it at once.
   */
  async reportControl(reports: ControlReport[]): Promise<HealthSnapshot> {
    const controls = this.#controls.take(reports, (id) => this.memory.states[id] !== undefined);
    await this.storage.write({ controls });
    return this.snapshot();
  }

  /** Passive failure reports, passed to the shard that owns each origin. */
  async report(failures: PassiveFailure[]): Promise<void> {
    const current = this.memory.plan;
    if (!current) return;
    await Promise.all(
      splitIntoShards(current.plan).map((origins, shard) => {
        const ids = new Set(origins.map((o) => o.id));
        const mine = failures.filter((f) => ids.has(f.originId));
        if (mine.length === 0) return;
        return shard === 0 ? this.own.shard.applyPassive(mine) : this.#shard(shard).applyPassive(mine);
      }),
    );
  }

  /** Takes a shard's records after its round; tells a shard whose plan is gone to stop. */
  async takeShardRecords(shard: number, generation: number, records: HealthRecords): Promise<{ stop: boolean }> {
    const current = this.memory.plan;
    if (!current || shard >= current.shards) return { stop: true };
    if (generation !== current.generation) return { stop: false }; // its new orders are on their way
    Object.assign(this.own.memory.records, records);
    this.memory.heardFrom[shard] = Date.now();
    await this.storage.write({ records: this.own.memory.records, heardFrom: this.memory.heardFrom });
    return { stop: false };
  }

  /** After each of its own rounds: re-sends orders to shards it has not heard from in a while. */
  async superviseShards(now: number): Promise<void> {
    const current = this.memory.plan;
    if (!current || current.shards < 2) return;
    const silentAfter = now - SILENT_INTERVALS * current.plan.health.interval * 1000;
    const shards = splitIntoShards(current.plan);
    for (const shard of range(1, shards.length).filter((s) => (this.memory.heardFrom[s] ?? 0) < silentAfter)) {
      this.memory.heardFrom[shard] = now; // one reminder per silent period
      await this.#sendOrders(ordersFor(current, shards, shard)).catch((error: unknown) =>
        logEvent('warn', 'health.shard-unreachable', { shard, error: errorMessage(error) }),
      );
    }
  }

  /**
   * Adopts a configuration and probes its plan, split into shards. A change that leaves the plan as it
   * is (a weight, a state) is kept all the same.
   */
  async #adopt(adopted: LastGoodConfig, config: Config, authoritativeUntil: number): Promise<void> {
    const plan = healthPlan(config);
    const previous = this.memory.plan;
    this.#controls.afterConfig(this.memory.config, config);
    this.memory.config = adopted;
    this.memory.states = statesAfter(this.memory.states, config, adopted.adoptedAt);
    if (previous && plan.key === previous.plan.key) {
      previous.authoritativeUntil = Math.max(previous.authoritativeUntil, authoritativeUntil);
      const { states, controls } = this.memory;
      await this.storage.write({ config: adopted, states, controls, plan: previous });
      return this.#ensureProbing();
    }
    const shards = splitIntoShards(plan);
    const generation = (previous?.generation ?? 0) + 1;
    const current = { plan, generation, shards: shards.length, authoritativeUntil };
    this.memory.plan = current;
    await this.#storeAdoption(adopted, current, shards);
    logEvent('info', 'health.plan', { origins: plan.origins.length, shards: shards.length, generation });
    await Promise.all([
      ...range(1, shards.length).map((shard) => this.#sendOrders(ordersFor(current, shards, shard))),
      ...range(shards.length, previous?.shards ?? 1).map((shard) => this.#shard(shard).assign(null, {})),
    ]);
  }

  /** The configuration, its plan, the coordinator's own orders and records: one write, then probe at once. */
  async #storeAdoption(adopted: LastGoodConfig, current: CoordinatorPlan, shards: HealthPlan['origins'][]) {
    const own = this.own.memory;
    own.orders = ordersFor(current, shards, 0);
    own.records = Object.fromEntries(current.plan.origins.map(({ id }) => [id, own.records[id] ?? initialHealth()]));
    this.memory.heardFrom = Object.fromEntries(range(1, shards.length).map((shard) => [shard, Date.now()]));
    await this.storage.write({
      config: adopted,
      states: this.memory.states,
      controls: this.memory.controls,
      plan: current,
      orders: own.orders,
      records: own.records,
      heardFrom: this.memory.heardFrom,
    });
    await this.storage.setAlarm(Date.now());
  }

  /** Probing runs, with orders of the current plan (a restart may have cut in between). */
  async #ensureProbing(): Promise<void> {
    const current = this.memory.plan;
    if (current && this.own.memory.orders?.generation !== current.generation) {
      return this.own.shard.assign(ordersFor(current, splitIntoShards(current.plan), 0), {});
    }
    if (this.own.memory.orders && (await this.storage.getAlarm()) === null) await this.storage.setAlarm(Date.now());
  }

  async #sendOrders(orders: ShardOrders): Promise<void> {
    const seed = Object.fromEntries(orders.origins.map(({ id }) => [id, this.own.memory.records[id]!]));
    await this.#shard(orders.shard).assign(orders, seed);
  }

  #shard(shard: number) {
    return probingShardOf(this.env.HEALTH_MONITOR, shard);
  }
}

function ordersFor(current: CoordinatorPlan, shards: HealthPlan['origins'][], shard: number): ShardOrders {
  return { generation: current.generation, shard, health: current.plan.health, origins: shards[shard]! };
}

/** Each origin's state, with the time it changed kept from before when it did not (a drain's start). */
function statesAfter(before: OriginStates, config: Config, now: number): OriginStates {
  return Object.fromEntries(
    config.origins.map(({ id, state }) => [id, before[id]?.state === state ? before[id] : { state, since: now }]),
  );
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
