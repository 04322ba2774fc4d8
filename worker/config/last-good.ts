/**
 * The last good configuration, kept by the health coordinator, for an isolate that starts while KV
 * holds nothing usable (a bad `wrangler kv key put`, a deleted key, KV unreachable). Warm isolates
 * keep their own last good in memory; without this copy every new isolate — after a deploy, an
 * eviction, in another location — would answer 503 to everything meanwhile.
 *
 * The coordinator keeps what it adopted last (plan-source.ts): the admin API's configuration, or a
 * good value it read from KV itself. It may lag KV's last good value by up to a minute (the cron's
 * period) when only settings outside the health plan changed, which no isolate asks it to look at.
 */
import type { Config } from '../core/config/config-schema';
import { errorMessage, logEvent } from '../log';
import { logConfigFailure, validateConfigText } from './config-source';

/**
 * The configuration the coordinator adopted last, from which its plan is derived: kept in its storage
 * with that plan, it is the last good configuration that outlives every isolate (config/last-good.ts).
 */
export interface LastGoodConfig {
  /** The exact text, as KV held it or the admin API stored it (so its ETag is the same everywhere). */
  text: string;
  source: 'kv' | 'admin';
  /** When the coordinator adopted it, in ms since the epoch. */
  adoptedAt: number;
}

/**
 * Asks whoever keeps it (the health coordinator, one Durable Object call: the isolate passes the ask
 * in, so that the configuration's floor does not reach up to the monitor's) for the last good text.
 */
export type KeptLastGood = () => Promise<LastGoodConfig | null>;

export type RecalledConfig = LastGoodConfig & { config: Config };

/**
 * Asks the coordinator (one Durable Object call) for its last good configuration and validates it
 * again: it may have been adopted under an older deployment's rules. Undefined when there is none
 * to apply; why is logged, except for "none yet", the normal state before the first configuration.
 */
export async function recallLastGood(keptLastGood: KeptLastGood): Promise<RecalledConfig | undefined> {
  let kept: LastGoodConfig | null;
  try {
    kept = await keptLastGood();
  } catch (error) {
    logEvent('warn', 'config.last-good-unavailable', { error: errorMessage(error) });
    return undefined;
  }
  if (!kept) return undefined;
  const read = validateConfigText(kept.text);
  if (read.ok) return { ...kept, config: read.config };
  logConfigFailure('error', read, { reader: 'last-good', lastGoodSource: kept.source });
  return undefined;
}
