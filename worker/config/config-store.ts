/**
 * The configuration in force in this isolate, loaded from KV and cached.
 *
 * Steady state costs no KV read per request: a request reads the cached routing table and, at most
 * once per refresh interval, starts a background re-read. Text that has not changed is not parsed
 * again. A value that fails validation never replaces the last good configuration; it is logged once
 * and reported in the status. Only an isolate with no good configuration at all waits for KV.
 */
import { describeProblems, parseConfigText, type ConfigProblem } from '../core/config-parse';
import type { Config } from '../core/config-schema';
import { compileRoutingTable, type RoutingTable } from '../core/routing-table';
import { errorMessage, logEvent } from '../log';

/** The KV key that holds the configuration JSON. */
export const CONFIG_KEY = 'config';
/** How often an isolate re-reads KV in the background. */
export const CONFIG_REFRESH_MS = 10_000;
/** How often an isolate without any good configuration retries KV (the request waits for it). */
const COLD_RETRY_MS = 1_000;
/**
 * After the admin API stores a configuration, KV may still serve the previous value for up to a
 * minute at some locations; until then a different value read back is not taken for a newer one.
 */
export const KV_PROPAGATION_MS = 60_000;

export type ConfigLookup =
  | { status: 'ready'; table: RoutingTable }
  | { status: 'missing' }
  | { status: 'invalid'; problems: ConfigProblem[] }
  | { status: 'unavailable'; reason: string };

/** What the status endpoint shows about the configuration. */
export interface ConfigHealth {
  inForce: boolean;
  /** A value found in KV that was refused; the configuration in force (if any) is the last good one. */
  rejected?: { problems: ConfigProblem[]; seenAt: string };
  /** A KV read that failed; the configuration in force (if any) is the last good one. */
  readError?: string;
}

export class ConfigStore {
  #inForce?: { text: string; table: RoutingTable };
  #failure: Exclude<ConfigLookup, { status: 'ready' }> = { status: 'missing' };
  /** The last value read from KV, and what was wrong with it if anything: parsed once per change. */
  #lastSeen?: { text: string | null; failure?: Exclude<ConfigLookup, { status: 'ready' }> };
  #rejected?: ConfigHealth['rejected'];
  #readError?: string;
  #checkedAt = -Infinity;
  #appliedAt = -Infinity;
  #refreshing?: Promise<void>;

  constructor(private readonly refreshMs = CONFIG_REFRESH_MS) {}

  /** The configuration in force; waits for KV only when this isolate has none. */
  async lookup(kv: KVNamespace, now: number, background: (task: Promise<unknown>) => void): Promise<ConfigLookup> {
    const age = now - this.#checkedAt;
    if (!this.#inForce) {
      // A cold isolate's concurrent first requests all wait for the one read already under way.
      if (this.#refreshing) await this.#refreshing;
      else if (age >= COLD_RETRY_MS) await this.refresh(kv, now);
    } else if (age >= this.refreshMs) {
      background(this.refresh(kv, now));
    }
    return this.#inForce ? { status: 'ready', table: this.#inForce.table } : this.#failure;
  }

  /** Re-reads KV; concurrent callers share one read. */
  refresh(kv: KVNamespace, now: number): Promise<void> {
    this.#refreshing ??= this.#load(kv, now).finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  /** Puts a configuration in force at once (the admin API does, after storing it in KV). */
  apply(config: Config, text: string, now: number): RoutingTable {
    const table = compileRoutingTable(config);
    this.#inForce = { text, table };
    this.#lastSeen = { text };
    this.#rejected = undefined;
    this.#appliedAt = now;
    this.#checkedAt = now;
    return table;
  }

  /** The configuration in force here and the text it came from, if any. */
  current(): { table: RoutingTable; text: string } | undefined {
    return this.#inForce;
  }

  health(): ConfigHealth {
    return { inForce: this.#inForce !== undefined, rejected: this.#rejected, readError: this.#readError };
  }

  async #load(kv: KVNamespace, now: number): Promise<void> {
    this.#checkedAt = now;
    let text: string | null;
    try {
      text = await kv.get(CONFIG_KEY, 'text');
      this.#readError = undefined;
    } catch (error) {
      this.#readError = errorMessage(error);
      this.#failure = { status: 'unavailable', reason: this.#readError };
      logEvent('error', 'config.read-failed', {
        key: CONFIG_KEY,
        error: this.#readError,
        keptLastGood: !!this.#inForce,
      });
      return;
    }
    if (this.#lastSeen && text === this.#lastSeen.text) {
      // Unchanged: not parsed again, but what it said holds again (a read error may have come between).
      if (this.#lastSeen.failure) this.#failure = this.#lastSeen.failure;
      return;
    }
    if (this.#inForce && now - this.#appliedAt < KV_PROPAGATION_MS && text !== this.#inForce.text) return;
    this.#lastSeen = { text, failure: this.#accept(text, now) };
  }

  /** Applies a new value from KV; returns what is wrong with it, if anything. */
  #accept(text: string | null, now: number): Exclude<ConfigLookup, { status: 'ready' }> | undefined {
    if (text === null) {
      this.#failure = { status: 'missing' };
      if (this.#inForce) logEvent('error', 'config.missing', { key: CONFIG_KEY, keptLastGood: true });
      return this.#failure;
    }
    const parsed = parseConfigText(text);
    if (!parsed.ok) {
      this.#failure = { status: 'invalid', problems: parsed.problems };
      this.#rejected = { problems: parsed.problems, seenAt: new Date(now).toISOString() };
      logEvent('error', 'config.invalid', {
        key: CONFIG_KEY,
        keptLastGood: !!this.#inForce,
        problems: describeProblems(parsed.problems),
      });
      return this.#failure;
    }
    this.#inForce = { text, table: compileRoutingTable(parsed.config) };
    this.#rejected = undefined;
    logEvent('info', 'config.applied', { key: CONFIG_KEY, origins: parsed.config.origins.length });
    return undefined;
  }
}
