/**
 * Turns untrusted input (KV text, an admin request body) into a configuration in force, or into the
 * complete list of what is wrong with it. Never throws for bad input.
 */
import * as v from 'valibot';
import { ConfigSchema, type Config } from './config-schema';

/** One thing wrong with a configuration: where (`origins[1].url`) and why. */
export interface ConfigProblem {
  path: string;
  message: string;
}

export type ConfigParseResult = { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] };

/** Validates a decoded JSON value and fills in every default. */
export function parseConfig(input: unknown): ConfigParseResult {
  const result = v.safeParse(ConfigSchema, input);
  if (result.success) return { ok: true, config: result.output };
  return { ok: false, problems: result.issues.map(toProblem) };
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

function toProblem(issue: v.BaseIssue<unknown>): ConfigProblem {
  const keys = issue.path?.map((item) => item.key) ?? [];
  if (issue.type === 'strict_object') {
    // valibot reports an unknown key as "expected never"; say what it is instead.
    const unknownKey = keys.at(-1);
    return { path: formatPath(keys), message: `is not a known setting (unknown key "${String(unknownKey)}")` };
  }
  return { path: formatPath(keys), message: issue.message };
}

/** `['origins', 1, 'url']` → `origins[1].url`, the way a person would point at it in the JSON. */
export function formatPath(keys: readonly unknown[]): string {
  if (keys.length === 0) return '(root)';
  return keys
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`))
    .join('');
}
