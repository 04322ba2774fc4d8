/**
 * Where the coordinator takes its plan from.
 *
 * Isolates do not hand it theirs: during a configuration change different isolates hold different
 * configurations for a while (KV propagates in up to a minute), and whichever spoke last would win,
 * flipping the plan back and forth. Instead an isolate that sees a plan other than its own asks the
 * coordinator to look at KV itself: one reader, one answer. The admin API, which has just stored a
 * configuration, hands over its plan, and for the next minute a KV read that still shows the old one
 * does not undo it.
 */
import { logConfigFailure, readConfig } from '../config/config-source';
import { KV_PROPAGATION_MS } from '../config/config-store';
import { healthPlan, type HealthPlan } from '../core/health-plan';

/** How often, at most, the coordinator reads KV when asked to. */
export const KV_SYNC_INTERVAL_MS = 5_000;
/** How long a plan from the admin API outranks what KV says. */
export const AUTHORITATIVE_MS = KV_PROPAGATION_MS;

/**
 * The plan of the configuration in KV, or undefined when there is none, it is invalid or KV could not
 * be read (the last two logged): the plan probed so far stays.
 */
export async function planFromKv(kv: KVNamespace): Promise<HealthPlan | undefined> {
  const read = await readConfig(kv);
  if (read.ok) return healthPlan(read.config);
  if (read.failure !== 'missing') logConfigFailure('warn', read, { reader: 'health-monitor' });
  return undefined;
}
