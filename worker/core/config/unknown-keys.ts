/**
 * Unknown keys, everywhere in a document, found by walking the configuration schema itself: the
 * schema stays the one source of what is known. valibot's own strict objects stop at the first
 * unknown key of an object and cannot see an own `__proto__` key at all, and every misspelt setting
 * must be reported, all at once.
 */
import type * as v from 'valibot';
import { isObject } from './config-schema';

type AnySchema = v.GenericSchema & {
  entries?: Record<string, AnySchema>;
  item?: AnySchema;
  wrapped?: AnySchema;
  pipe?: readonly { kind: string; type: string }[];
};

export type PathKey = string | number;

/** Paths of the keys of `input` that `schema` does not know. */
export function unknownKeys(schema: v.GenericSchema, input: unknown, at: PathKey[] = []): PathKey[][] {
  const shape = structural(schema as AnySchema);
  if (shape?.entries && isObject(input)) {
    const entries = shape.entries;
    return Object.keys(input).flatMap((key) =>
      Object.hasOwn(entries, key) ? unknownKeys(entries[key]!, input[key], [...at, key]) : [[...at, key]],
    );
  }
  if (shape?.item && Array.isArray(input)) {
    return input.flatMap((item, index) => unknownKeys(shape.item!, item, [...at, index]));
  }
  return [];
}

/** The object or array schema inside optional wrappers and pipes, if there is one. */
function structural(schema: AnySchema | undefined): AnySchema | undefined {
  if (!schema) return undefined;
  if (schema.wrapped) return structural(schema.wrapped);
  if (schema.entries || schema.item) return schema;
  const inner = schema.pipe?.find(
    (step): step is AnySchema => step.kind === 'schema' && step !== schema && ('entries' in step || 'item' in step),
  );
  return inner ? structural(inner) : undefined;
}
