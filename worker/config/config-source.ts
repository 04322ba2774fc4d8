/**
 * The configuration's one home in KV: the key, reading it, validating it, storing it, and what every
 * failure is called. The isolates' config store, the health coordinator and the admin API all go
 * through here, so a missing key, a refused value and a failed read mean the same everywhere.
 * Validation itself is the pure core's (core/config/config-parse.ts); this module only adds the I/O.
 */
import { describeProblems, parseConfigText, type ConfigProblem } from '../core/config/config-parse';
import type { Config } from '../core/config/config-schema';
import { errorMessage, logEvent, type LogLevel } from '../log';

/** The KV key that holds the configuration JSON. */
export const CONFIG_KEY = 'config';

/** Why KV holds no configuration that can be applied. */
export type ConfigFailure =
  | { ok: false; failure: 'missing' }
  | { ok: false; failure: 'invalid'; problems: ConfigProblem[] }
  | { ok: false; failure: 'unreadable'; reason: string };

/** The stored text, unparsed: If-Match compares texts, and the config store parses once per change. */
export type StoredText = { ok: true; text: string } | Exclude<ConfigFailure, { failure: 'invalid' }>;

/** A configuration that can be applied, with the exact text it came from (its ETag's source). */
export type ConfigRead = { ok: true; text: string; config: Config } | ConfigFailure;

export type ConfigWrite = { ok: true; text: string } | { ok: false; reason: string };

/** Reads the stored text; a KV error is an answer (`unreadable`), not an exception. */
export async function readConfigText(kv: KVNamespace): Promise<StoredText> {
  try {
    const text = await kv.get(CONFIG_KEY, 'text');
    return text === null ? { ok: false, failure: 'missing' } : { ok: true, text };
  } catch (error) {
    return { ok: false, failure: 'unreadable', reason: errorMessage(error) };
  }
}

/** Validates a stored text with the rules the admin API applies to a PUT. */
export function validateConfigText(text: string): ConfigRead {
  const parsed = parseConfigText(text);
  return parsed.ok
    ? { ok: true, text, config: parsed.config }
    : { ok: false, failure: 'invalid', problems: parsed.problems };
}

/** Reads and validates the configuration in KV. */
export async function readConfig(kv: KVNamespace): Promise<ConfigRead> {
  const stored = await readConfigText(kv);
  return stored.ok ? validateConfigText(stored.text) : stored;
}

/**
 * Stores a validated configuration with every default filled in, so that what the admin API answers,
 * what KV holds and what every reader compares is one text.
 */
export async function storeConfig(kv: KVNamespace, config: Config): Promise<ConfigWrite> {
  const text = JSON.stringify(config, null, 2);
  try {
    await kv.put(CONFIG_KEY, text);
    return { ok: true, text };
  } catch (error) {
    return { ok: false, reason: errorMessage(error) };
  }
}

/** What the logs say about a failure, under one event name per kind. */
const FAILURE_EVENTS: Record<ConfigFailure['failure'], string> = {
  missing: 'config.missing',
  invalid: 'config.invalid',
  unreadable: 'config.read-failed',
};

/** Logs a failure with every problem; `fields` say who read it and what stays in force. */
export function logConfigFailure(level: LogLevel, failure: ConfigFailure, fields: Record<string, unknown>): void {
  logEvent(level, FAILURE_EVENTS[failure.failure], { key: CONFIG_KEY, ...fields, ...failureDetail(failure) });
}

function failureDetail(failure: ConfigFailure): Record<string, string> {
  switch (failure.failure) {
    case 'missing':
      return {};
    case 'invalid':
      return { problems: describeProblems(failure.problems) };
    case 'unreadable':
      return { error: failure.reason };
  }
}
