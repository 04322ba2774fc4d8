/**
 * The configuration in force in this isolate, loaded from KV (config-source.ts) and cached.
 *
 * Steady state costs no KV read per request: a request reads the cached routing table and, at most
 * once per refresh interval, starts a background re-read. Text that has not changed is not parsed
 * again. A value that fails validation never replaces the configuration in force; it is logged once
 * and reported in the status. Only an isolate with no configuration at all waits: for KV and, when KV
 * holds nothing usable, for the last good configuration the health coordinator keeps (last-good.ts).
 */
import type { Bindings } from '../bindings';
import type { Config } from '../core/config/config-schema';
import { compileRoutingTable, type RoutingTable } from '../core/routing/routing-table';
import { logEvent } from '../log';
import {
  CONFIG_KEY,
  logConfigFailure,
  readConfigText,
  validateConfigText,
  type ConfigFailure,
  type StoredText,
} from './config-source';
import { recallLastGood, type KeptLastGood, type LastGoodConfig } from './last-good';
import { SharedTask } from '../shared-task';

/** A KV read (and, cold, the coordinator's last good configuration) taking longer than this is taken for lost. */
const LOAD_ABANDONED_MS = 10_000;
/** How often an isolate re-reads KV in the background. */
export const CONFIG_REFRESH_MS = 10_000;
/**
 * How often an isolate without any configuration retries (the request waits for it): one KV read and,
 * when KV has nothing usable, one call to the coordinator.
 */
export const COLD_RETRY_MS = 1_000;
/**
 * After the admin API stores a configuration, KV may still serve the previous value for up to a
 * minute at some locations; until then that previous value, read back, is not taken for a newer one.
 */
export const KV_PROPAGATION_MS = 60_000;

/** The bindings the store reads: KV, and the coordinator for the last good configuration. */
export type ConfigBindings = Pick<Bindings, 'ORIGINS' | 'HEALTH_MONITOR'>;

/**
 * Where the configuration in force came from: KV, a PUT this isolate answered, or the coordinator's
 * last good copy (KV held nothing usable when this isolate had none).
 */
export type ConfigSourceName = 'kv' | 'admin' | 'last-good';

export interface ConfigInForce {
  text: string;
  table: RoutingTable;
  source: ConfigSourceName;
  /** When this isolate put it in force. */
  appliedAt: number;
  /** For `last-good`: where the coordinator had it from, and when it adopted it. */
  lastGood?: Omit<LastGoodConfig, 'text'>;
}

/** The configuration in force, or why there is none. */
export type ConfigLookup = ({ ok: true } & ConfigInForce) | ConfigFailure;

/** What the last read of KV found when there was nothing to apply, and since when (as this isolate saw it). */
export type KvFailure = ConfigFailure & { since: number };

export interface ConfigState {
  inForce?: ConfigInForce;
  /** Set while KV holds nothing usable; the configuration in force, if any, stays. */
  kvFailure?: KvFailure;
}

export class ConfigStore {
  #inForce?: ConfigInForce;
  #kvFailure?: KvFailure;
  /** The last value read from KV (null: no key), and what was wrong with it: parsed once per change. */
  #lastSeen?: { text: string | null; failure?: KvFailure };
  /**
   * With an admin write in force: the value KV held before it, as this isolate last read it (undefined
   * when it had not read KV). Within KV_PROPAGATION_MS, only that value read back is a stale read.
   */
  #replacedByAdmin?: { text: string | null };
  #checkedAt = -Infinity;
  /** The KV read under way, which concurrent requests share. */
  readonly #loading = new SharedTask(LOAD_ABANDONED_MS);

  /**
   * @param keptLastGood asks the health coordinator for its last good configuration, for an isolate
   * that has none while KV holds nothing usable (isolate-state.ts passes the stub's call in).
   */
  constructor(
    private readonly keptLastGood: (env: ConfigBindings) => ReturnType<KeptLastGood>,
    private readonly refreshMs = CONFIG_REFRESH_MS,
  ) {}

  /** The configuration in force; waits only when this isolate has none. */
  async lookup(env: ConfigBindings, now: number, background: (task: Promise<unknown>) => void): Promise<ConfigLookup> {
    const age = now - this.#checkedAt;
    if (!this.#inForce) {
      // A cold isolate's concurrent first requests all wait for the one load already under way.
      if (this.#loading.isRunning(now) || age >= COLD_RETRY_MS) await this.refresh(env, now);
    } else if (age >= this.refreshMs) {
      background(this.refresh(env, now));
    }
    if (this.#inForce) return { ok: true, ...this.#inForce };
    return this.#kvFailure ?? { ok: false, failure: 'missing' };
  }

  /** Re-reads KV; concurrent callers share one read. */
  refresh(env: ConfigBindings, now: number): Promise<void> {
    return this.#loading.run(now, () => this.#load(env, now));
  }

  /** Puts a configuration in force at once (the admin API does, after storing it in KV). */
  apply(config: Config, text: string, now: number): void {
    this.#replacedByAdmin = this.#lastSeen && { text: this.#lastSeen.text };
    this.#inForce = { text, table: compileRoutingTable(config), source: 'admin', appliedAt: now };
    this.#lastSeen = { text };
    this.#kvFailure = undefined;
    this.#checkedAt = now;
  }

  /** The configuration in force here, if any. */
  current(): ConfigInForce | undefined {
    return this.#inForce;
  }

  state(): ConfigState {
    return { inForce: this.#inForce, kvFailure: this.#kvFailure };
  }

  async #load(env: ConfigBindings, now: number): Promise<void> {
    this.#checkedAt = now;
    const news = this.#take(await readConfigText(env.ORIGINS), now);
    if (!this.#inForce && this.#kvFailure) await this.#fallBackToLastGood(env, this.#kvFailure, now);
    // Logged once the outcome is known. A missing key is the normal state before the first
    // configuration: worth a line only when something stays in force without it.
    if (news && (news.failure !== 'missing' || this.#inForce)) {
      logConfigFailure('error', news, { keptLastGood: !!this.#inForce });
    }
  }

  /** Applies what KV holds if it is new and good; returns what is wrong with it when that is news. */
  #take(stored: StoredText, now: number): ConfigFailure | undefined {
    if (!stored.ok && stored.failure === 'unreadable') {
      // Not remembered as KV's value: the next read may well find the same text as before.
      const since = this.#kvFailure?.failure === 'unreadable' ? this.#kvFailure.since : now;
      this.#kvFailure = { ...stored, since };
      return stored;
    }
    const text = stored.ok ? stored.text : null;
    if (this.#lastSeen && text === this.#lastSeen.text) {
      // Unchanged: not parsed again, but what it said holds again (a read error may have come between).
      this.#kvFailure = this.#lastSeen.failure;
      return undefined;
    }
    if (this.#isStaleRead(text, now)) return undefined;
    const failure = text === null ? ({ ok: false, failure: 'missing' } as const) : this.#applyFromKv(text, now);
    this.#kvFailure = failure && { ...failure, since: now };
    this.#lastSeen = { text, failure: this.#kvFailure };
    return failure;
  }

  /**
   * Whether `text` is KV answering with what it held before this isolate's admin write, which has not
   * reached this location yet. Any other value is a newer write (another isolate's PUT, `wrangler kv
   * key put`) and is taken, good or bad, like any other.
   */
  #isStaleRead(text: string | null, now: number): boolean {
    const inForce = this.#inForce;
    if (inForce?.source !== 'admin' || now - inForce.appliedAt >= KV_PROPAGATION_MS || text === inForce.text) {
      return false;
    }
    const replaced = this.#replacedByAdmin;
    return replaced === undefined || replaced.text === text;
  }

  /** Puts a good text from KV in force; returns what is wrong with it otherwise. */
  #applyFromKv(text: string, now: number): ConfigFailure | undefined {
    const read = validateConfigText(text);
    if (!read.ok) return read;
    this.#inForce = { text, table: compileRoutingTable(read.config), source: 'kv', appliedAt: now };
    logEvent('info', 'config.applied', { key: CONFIG_KEY, origins: read.config.origins.length });
    return undefined;
  }

  /**
   * An isolate with no configuration, and nothing usable in KV, serves the coordinator's last good
   * configuration rather than answer 503 to everything: the contract keeps the last good one in force.
   */
  async #fallBackToLastGood(env: ConfigBindings, because: ConfigFailure, now: number): Promise<void> {
    const recalled = await recallLastGood(() => this.keptLastGood(env));
    if (!recalled || this.#inForce) return; // an admin PUT may have been applied meanwhile
    const { text, config, source, adoptedAt } = recalled;
    const table = compileRoutingTable(config);
    this.#inForce = { text, table, source: 'last-good', appliedAt: now, lastGood: { source, adoptedAt } };
    logEvent('warn', 'config.last-good-applied', {
      key: CONFIG_KEY,
      because: because.failure,
      lastGoodSource: source,
      adoptedAt: new Date(adoptedAt).toISOString(),
      origins: config.origins.length,
    });
  }
}
