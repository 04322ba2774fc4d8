/**
 * The core stays pure by a test, not by a folder name: every module under worker/core imports only
 * other core modules, valibot and Hono's utilities — no bindings, no shell (http/, admin/, health/,
 * fleet/, monitor/), no Node or Workers modules — and reads no clock of its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const CORE = resolve(import.meta.dirname, '../../worker/core');
const ALLOWED_PACKAGES = [/^valibot$/, /^hono\/utils\//];

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? modules(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'/g),
    ...text.matchAll(/import\('([^']+)'\)/g),
  ].map((match) => match[1]!);
}

describe('the pure core', () => {
  const files = modules(CORE);

  it('is found (the test reads what it should)', () => {
    expect(files.length).toBeGreaterThan(30);
  });

  it('imports only core modules, valibot and Hono utilities', () => {
    const outside: string[] = [];
    for (const file of files) {
      for (const specifier of importsOf(file)) {
        const ok = specifier.startsWith('.')
          ? !relative(CORE, resolve(file, '..', specifier)).startsWith('..')
          : ALLOWED_PACKAGES.some((pattern) => pattern.test(specifier));
        if (!ok) outside.push(`${relative(CORE, file)} imports ${specifier}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it('reads no clock and draws no randomness of its own: now and ids are passed in', () => {
    const impure = files.filter((file) =>
      /\bDate\.now\(|\bnew Date\(\)|\bMath\.random\(|getRandomValues\(|randomUUID\(/.test(readFileSync(file, 'utf8')),
    );
    expect(impure.map((file) => relative(CORE, file))).toEqual([]);
  });
});
