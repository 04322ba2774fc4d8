/**
 * Turns untrusted input (KV text, an admin request body) into a configuration in force, or into the
 * complete list of what is wrong with it. Never throws for bad input.
 */
import * as v from 'valibot';
import { ConfigSchema, type Config } from './config-schema';
import { unknownKeys } from './unknown-keys';

/** One thing wrong with a configuration: where (`origins[1].url`) and why. */
export interface ConfigProblem {
  path: string;
  message: string;
}

export type ConfigParseResult = { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] };

/** Validates a decoded JSON value and fills in every default. */
export function parseConfig(input: unknown): ConfigParseResult {
  const result = v.safeParse(ConfigSchema, input);
  const unknown = unknownKeys(ConfigSchema, input).map((keys) => ({
    path: formatPath(keys),
    message: `is not a known setting (unknown key ${JSON.stringify(String(keys.at(-1)))})`,
  }));
  if (result.success && unknown.length === 0) return { ok: true, config: result.output };
  return { ok: false, problems: [...(result.issues?.map(toProblem) ?? []), ...unknown] };
}

/** Decodes JSON text, then validates it. */
export function parseConfigText(text: string): ConfigParseResult {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, problems: [{ path: '(root)', message: `is not valid JSON: ${reason}` }] };
  }
  return parseConfig(input);
}

/** One line per problem, for logs and plain-text answers. */
export function describeProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('\n');
}

/** Every message is the schema's own: unknown keys come from unknown-keys.ts, never from valibot. */
function toProblem(issue: v.BaseIssue<unknown>): ConfigProblem {
  return { path: formatPath(issue.path?.map((item) => item.key) ?? []), message: issue.message };
}

/**
 * `['origins', 1, 'url']` → `origins[1].url`, the way a person would point at it in the JSON; a key
 * that is not a plain name is quoted: `["my key"]`.
 */
export function formatPath(keys: readonly unknown[]): string {
  if (keys.length === 0) return '(root)';
  return keys.map((key, index) => pathStep(key, index === 0)).join('');
}

function pathStep(key: unknown, first: boolean): string {
  if (typeof key === 'number') return `[${key}]`;
  const name = String(key);
  if (!/^[A-Za-z_$][\w$]*$/.test(name)) return `[${JSON.stringify(name)}]`;
  return first ? name : `.${name}`;
}
