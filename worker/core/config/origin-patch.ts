/**
 * `PATCH /_affinity/origins/<id>`: one origin's state and weight changed without rewriting the whole
 * configuration. The body is validated with the very field schemas of the configuration; the changed
 * configuration is then validated whole again, like any other, before anything stores it.
 */
import * as v from 'valibot';
import { formatPath, parseConfig, type ConfigProblem } from './config-parse';
import { ORIGIN_STATE, ORIGIN_WEIGHT, type Config, type OriginConfig } from './config-schema';
import { isObject } from './config-schema';

const PATCH_KEYS = 'only "state" and "weight" can be changed here';

export const OriginPatchSchema = v.pipe(
  v.custom<Record<string, unknown>>(isObject, `must be a JSON object; ${PATCH_KEYS}`),
  v.strictObject(
    { state: v.optional(ORIGIN_STATE), weight: v.optional(ORIGIN_WEIGHT) },
    `is not a known setting: ${PATCH_KEYS}`,
  ),
  v.check((patch) => patch.state !== undefined || patch.weight !== undefined, `must set "state", "weight" or both`),
);

export type OriginPatch = v.InferOutput<typeof OriginPatchSchema>;

export type OriginPatchRead = { ok: true; patch: OriginPatch } | { ok: false; problems: ConfigProblem[] };

export function parseOriginPatch(input: unknown): OriginPatchRead {
  const result = v.safeParse(OriginPatchSchema, input);
  if (result.success) return { ok: true, patch: result.output };
  return {
    ok: false,
    problems: result.issues.map((issue) => ({
      path: formatPath(issue.path?.map((item) => item.key) ?? []),
      message: issue.message,
    })),
  };
}

export type PatchedConfig =
  | { ok: true; config: Config; origin: OriginConfig }
  | { ok: false; failure: 'unknown-origin' }
  | { ok: false; failure: 'invalid'; problems: ConfigProblem[] };

/** The configuration with the origin `id` changed as the patch says, validated whole. */
export function patchOrigin(config: Config, id: string, patch: OriginPatch): PatchedConfig {
  const index = config.origins.findIndex((origin) => origin.id === id);
  if (index < 0) return { ok: false, failure: 'unknown-origin' };
  const origins = config.origins.map((origin, i) => (i === index ? { ...origin, ...patch } : origin));
  const parsed = parseConfig({ ...config, origins });
  if (!parsed.ok) return { ok: false, failure: 'invalid', problems: parsed.problems };
  return { ok: true, config: parsed.config, origin: parsed.config.origins[index]! };
}
