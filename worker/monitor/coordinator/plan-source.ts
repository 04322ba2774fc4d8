/**
 * Where the coordinator takes its configuration, and the plan derived from it, from.
 *
 * Isolates do not hand it theirs: during a configuration change different isolates hold different
 * configurations for a while (KV propagates in up to a minute), and whichever spoke last would win,
 * flipping the plan back and forth. Instead an isolate that sees a plan other than its own asks the
 * coordinator to look at KV itself: one reader, one answer. The admin API, which has just stored a
 * configuration, hands it over, and for the next minute a KV read that still shows the old one does
 * not undo it. What the coordinator adopts is also the last good configuration isolates fall back to.
 */
import { logConfigFailure, readConfigText, validateConfigText } from '../../config/config-source';
import { KV_PROPAGATION_MS } from '../../config/config-store';
import type { Config } from '../../core/config/config-schema';

/** How often, at most, the coordinator reads KV when asked to. */
export const KV_SYNC_INTERVAL_MS = 5_000;
/** How long a configuration from the admin API outranks what KV says. */
export const AUTHORITATIVE_MS = KV_PROPAGATION_MS;

/**
 * The configuration in KV when it is good and not the text adopted already. Anything else leaves
 * the adopted one in force: a missing key (as in every isolate), a refused value or a failed read,
 * the last two logged.
 */
export async function newConfigInKv(
  kv: KVNamespace,
  adoptedText: string | undefined,
): Promise<{ text: string; config: Config } | undefined> {
  const stored = await readConfigText(kv);
  if (stored.ok && stored.text === adoptedText) return undefined; // unchanged: not parsed again
  const read = stored.ok ? validateConfigText(stored.text) : stored;
  if (read.ok) return read;
  if (read.failure !== 'missing') {
    logConfigFailure('warn', read, { reader: 'health-monitor', keptLastGood: adoptedText !== undefined });
  }
  return undefined;
}
