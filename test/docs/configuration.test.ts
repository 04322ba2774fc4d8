/**
 * The configuration reference (docs/configuration.md) and the schema are one source: every key the
 * schema knows is documented and nothing else is; each documented default is what parsing fills in;
 * each documented range of a number is exactly what parsing accepts.
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../worker/core/config/config-parse';
import { ConfigSchema } from '../../worker/core/config/config-schema';
import { read } from './markdown';

interface Row {
  key: string;
  default: string;
  meaning: string;
}

/** The rows of the table under "Configuration (KV key `config`)" whose first cell is a key. */
function documentedRows(): Row[] {
  const page = read('docs/configuration.md');
  const section = page.slice(page.indexOf('## Configuration (KV key `config`)'));
  return section
    .split('\n')
    .map((line) => /^\| `([A-Za-z.[\]]+)` \| ([^|]+) \| (.*) \|$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(([, key, fallback, meaning]) => ({ key: key!, default: fallback!.trim(), meaning: meaning! }));
}

type AnySchema = v.GenericSchema & {
  entries?: Record<string, AnySchema>;
  item?: AnySchema;
  wrapped?: AnySchema;
  pipe?: readonly AnySchema[];
};

/** The object or array inside optional wrappers and pipes. */
function structural(schema: AnySchema): AnySchema | undefined {
  if (schema.wrapped) return structural(schema.wrapped);
  if (schema.entries || schema.item) return schema;
  const inner = schema.pipe?.find((step) => step !== schema && (step.entries !== undefined || step.item !== undefined));
  return inner && structural(inner);
}

/** Every key path the schema knows (`origins`, `origins[].id`, `affinity.rebalance.rate`, …). */
function schemaKeys(schema: AnySchema, at = ''): string[] {
  const shape = structural(schema);
  if (shape?.item) return schemaKeys(shape.item, `${at}[]`);
  if (!shape?.entries) return [];
  return Object.entries(shape.entries).flatMap(([key, entry]) => {
    const path = at ? `${at}.${key}` : key;
    return [path, ...schemaKeys(entry, path)];
  });
}

const ORIGIN = { id: 'a', url: 'https://a.example' };

/** A configuration with `value` at a documented key path (an origin's field goes into the one origin). */
function withValue(key: string, value: unknown): Record<string, unknown> {
  const config: Record<string, unknown> = { origins: [{ ...ORIGIN }] };
  if (key.startsWith('origins[].')) {
    (config.origins as Record<string, unknown>[])[0]![key.slice('origins[].'.length)] = value;
    return config;
  }
  const parts = key.split('.');
  let parent = config;
  for (const part of parts.slice(0, -1)) parent = (parent[part] ??= {}) as Record<string, unknown>;
  parent[parts.at(-1)!] = value;
  // Rebalancing comes with handoff; its rate is what is being tried.
  if (key === 'affinity.rebalance.rate') (config.affinity as Record<string, unknown>).handoff = true;
  return config;
}

/** The value at a documented key path of a parsed configuration. */
function valueAt(config: unknown, key: string): unknown {
  let value = config as Record<string, unknown> | undefined;
  for (const part of key.replace('[]', '.0').split('.')) value = value?.[part] as Record<string, unknown> | undefined;
  return value;
}

const accepts = (key: string, value: unknown) => parseConfig(withValue(key, value)).ok;
const parsedDefaults = () => {
  const parsed = parseConfig({ origins: [{ ...ORIGIN }] });
  if (!parsed.ok) throw new Error('the minimal configuration must parse');
  return parsed.config;
};

describe('the configuration reference', () => {
  const rows = documentedRows();
  // The containers are documented by their keys, not as rows of their own.
  const containers = new Set(['affinity', 'health', 'proxy']);

  it('documents every key the schema knows, and no other', () => {
    expect(rows.length).toBeGreaterThan(25);
    const documented = rows.map((row) => row.key).sort();
    const known = schemaKeys(ConfigSchema as AnySchema)
      .filter((key) => !containers.has(key))
      .sort();
    expect(documented).toEqual(known);
  });

  it('states each default as parsing fills it in; (required) keys are required, (none) ones stay absent', () => {
    const defaults = parsedDefaults();
    for (const row of rows) {
      if (row.default === '(required)') {
        if (row.key === 'origins' || row.key.startsWith('origins[].')) {
          const without = withValue(row.key, undefined);
          if (row.key === 'origins') delete without.origins;
          else delete (without.origins as Record<string, unknown>[])[0]![row.key.slice('origins[].'.length)];
          expect(parseConfig(without).ok, row.key).toBe(false);
        } else {
          expect(accepts(row.key.split('.').slice(0, -1).join('.'), {}), row.key).toBe(false);
        }
        continue;
      }
      if (row.default === '(none)') {
        expect(valueAt(defaults, row.key), row.key).toBeUndefined();
        continue;
      }
      const literal = /^`(.*)`$/.exec(row.default)?.[1];
      expect(literal, `${row.key}: a default in backticks`).toBeDefined();
      const expected = /^[\d.]+$|^(true|false)$|^\[\]$/.test(literal!) ? JSON.parse(literal!) : literal;
      expect(valueAt(defaults, row.key), row.key).toEqual(expected);
    }
  });

  it('states each range of a number exactly as parsing bounds it', () => {
    let checked = 0;
    for (const row of rows) {
      const range = /(?:^|\()(\d[\d,]*(?:\.\d+)?) to (\d[\d,]*(?:\.\d+)?)/.exec(row.meaning);
      if (!range || row.key === 'origins' || row.key === 'affinity.learn') continue; // counts of items, below
      const [min, max] = [range[1]!, range[2]!].map((n) => Number(n.replaceAll(',', '')));
      const step = Number.isInteger(min) && Number.isInteger(max) ? 1 : (max! - min!) / 1000;
      expect([accepts(row.key, min), accepts(row.key, max)], `${row.key} accepts ${min} and ${max}`).toEqual([
        true,
        true,
      ]);
      expect([accepts(row.key, min! - step), accepts(row.key, max! + step)], `${row.key} refuses beyond`).toEqual([
        false,
        false,
      ]);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(12);
  });

  it('states the counts of origins and learned names as parsing bounds them', () => {
    const origins = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `o${i}`, url: `https://o${i}.example` }));
    expect(rows.find((r) => r.key === 'origins')!.meaning).toMatch(/^1 to 1000 origins/);
    expect([1, 1000, 0, 1001].map((n) => parseConfig({ origins: origins(n) }).ok)).toEqual([true, true, false, false]);
    expect(rows.find((r) => r.key === 'affinity.learn')!.meaning).toMatch(/^0 to 4 names/);
    const learn = (n: number) => Array.from({ length: n }, (_, i) => `header:x-l${i}`);
    expect([0, 4, 5].map((n) => accepts('affinity.learn', learn(n)))).toEqual([true, true, false]);
  });
});
