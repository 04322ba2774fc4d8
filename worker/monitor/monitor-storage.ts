/**
 * The storage schema of the `OriginHealthMonitor` class, in one place: every key any of its objects
 * stores, which role owns it, and what it holds. Each object (the coordinator, each probing shard,
 * the fleet aggregator, each location object) has a storage of its own, so the keys of one role never meet another role's
 * unless the same object plays both (the coordinator probes shard 0 itself).
 *
 * Storage is the source of truth: a value is written before anything relies on it, and every object
 * reads its keys back when it starts, so an eviction or a restart loses nothing.
 */
import { bucketName, type FleetTotals, type StoredBucket } from '../core/fleet/fleet-window';
import type { HealthPlan } from '../core/health/health-plan';
import type { OriginHealth } from '../core/health/health-transition';
import type { OriginControls } from '../core/control/origin-control';
import type { RelayLedger } from '../core/fleet/traffic-relay';
import type { LastGoodConfig, OriginStates, ShardOrders } from './monitor-protocol';

/** Health per origin id. */
export type HealthRecords = Record<string, OriginHealth>;

/** The coordinator's plan: what is probed, split into how many shards, and since which generation. */
export interface CoordinatorPlan {
  plan: HealthPlan;
  /** Changes with every new plan, so that late results of an old one are dropped. */
  generation: number;
  shards: number;
  /** Until when this plan, handed over by the admin API, outranks what KV says. */
  authoritativeUntil: number;
}

export interface MonitorStorageSchema {
  /** Probing shard: the origins this object probes, and how. */
  orders: ShardOrders;
  /** Probing shard: its origins' health. On the coordinator: every shard's, the others as last sent. */
  records: HealthRecords;
  /** Coordinator: the configuration adopted last (the last good configuration), written with `plan`. */
  config: LastGoodConfig;
  /** Coordinator: each origin's state and since when (written with `config`). */
  states: OriginStates;
  /**
   * Coordinator: what each origin said of itself (`drain`/`ready`, `weight=<n>%`), when, and since
   * when; written with `config` when a configuration replaces some of it (core/control/origin-control.ts).
   */
  controls: OriginControls;
  /** Coordinator: the plan derived from `config`. */
  plan: CoordinatorPlan;
  /** Coordinator: when each other shard last sent its records (ms since the epoch), to re-send lost orders. */
  heardFrom: Record<number, number>;
  /**
   * Fleet aggregator: totals since counting began, `lastRequestAt` per origin among them, stored by its
   * alarm; origins gone from the configuration leave them after a retention period.
   */
  fleet: FleetTotals;
  /**
   * Fleet aggregator: since when its recent buckets have watched (stored with `fleet`). The buckets
   * themselves are one key each, `fleetBucket:<kind>:<start>` (`writeFleet`), so that a write every
   * second carries only the buckets that changed.
   */
  fleetWatchingSince: number;
  /**
   * Location object: per recent incarnation, the last round of merged reports the fleet aggregator
   * took (core/fleet/traffic-relay.ts), written after each forward. Its isolates' batches themselves are
   * never stored: each isolate keeps its own until this says they went out.
   */
  relayLedger: RelayLedger;
}

const FLEET_BUCKET_PREFIX = 'fleetBucket:';

export type StoredKey = keyof MonitorStorageSchema;

/** Typed access to the schema above; nothing else touches an object's storage keys. */
export class MonitorStorage {
  constructor(private readonly storage: DurableObjectStorage) {}

  async read<K extends StoredKey>(keys: readonly K[]): Promise<Partial<Pick<MonitorStorageSchema, K>>> {
    const stored = await this.storage.get<unknown>([...keys]);
    return Object.fromEntries(stored) as Partial<Pick<MonitorStorageSchema, K>>;
  }

  /** One write of several keys: they never disagree after a crash. */
  write(entries: Partial<MonitorStorageSchema>): Promise<void> {
    return this.storage.put(entries);
  }

  /** The fleet aggregator's stored recent buckets, in no order. */
  async readFleetBuckets(): Promise<StoredBucket[]> {
    const stored = await this.storage.list<StoredBucket>({ prefix: FLEET_BUCKET_PREFIX });
    return [...stored.values()];
  }

  /**
   * One write of the fleet's totals, the buckets that changed and the removal of the buckets past the
   * window: issued together, the platform commits them as one, so storage never holds totals without
   * the buckets they came with.
   */
  async writeFleet(
    entries: Pick<MonitorStorageSchema, 'fleet' | 'fleetWatchingSince'>,
    changed: readonly StoredBucket[],
    expired: readonly Pick<StoredBucket, 'kind' | 'start'>[],
  ): Promise<void> {
    const buckets = Object.fromEntries(changed.map((b) => [FLEET_BUCKET_PREFIX + bucketName(b), b]));
    const writes = [this.storage.put({ ...entries, ...buckets })];
    if (expired.length > 0)
      writes.push(this.storage.delete(expired.map((b) => FLEET_BUCKET_PREFIX + bucketName(b))).then(() => {}));
    await Promise.all(writes);
  }

  /** Drops everything this object stores, and its alarm. */
  async clear(): Promise<void> {
    await this.storage.deleteAlarm();
    await this.storage.deleteAll();
  }

  getAlarm(): Promise<number | null> {
    return this.storage.getAlarm();
  }

  setAlarm(at: number): Promise<void> {
    return this.storage.setAlarm(at);
  }

  deleteAlarm(): Promise<void> {
    return this.storage.deleteAlarm();
  }
}
