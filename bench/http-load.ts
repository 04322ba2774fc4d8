/**
 * The Workers the HTTP benchmarks load: a bare pass-through Worker and edge-affinity from its wrangler
 * bundle, each under Miniflare (the same workerd, started the same way), and the sessions a
 * steady-state load carries. The load itself is load.ts's, the origin origin.ts's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';

export const BUNDLE_DIR = resolve(import.meta.dirname, '../.build/bench');
const ROOT = resolve(import.meta.dirname, '..');
export const COMPATIBILITY_DATE = /compatibility_date\s*=\s*"([^"]+)"/.exec(
  readFileSync(join(ROOT, 'wrangler.toml'), 'utf8'),
)![1]!;
export const SECRET = 'benchmark-secret';

/** Options every benchmarked Worker shares; `inspectorPort` lets bench:profile attach the profiler. */
export interface WorkerOptions {
  inspectorPort?: number;
}

/** Bundles the worker of the checkout at `root` as `wrangler deploy` would, into `outDir`. */
export function buildBundle(outDir = BUNDLE_DIR, root = ROOT): void {
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', outDir],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    },
  );
}

export async function startPassThrough(originUrl: string, options: WorkerOptions = {}): Promise<Miniflare> {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      ...options,
      host: '127.0.0.1',
      port: 0,
      scriptPath: resolve(import.meta.dirname, 'workers/passthrough.js'),
      modules: true,
      compatibilityDate: COMPATIBILITY_DATE,
      bindings: { ORIGIN: originUrl },
    }),
  );
  await mf.ready;
  return mf;
}

/** edge-affinity from its wrangler bundle (or the counting wrapper around it), configured for `originUrls`. */
export async function startEdgeAffinity(
  originUrls: string[],
  {
    entry = 'index.js',
    bundleDir = BUNDLE_DIR,
    affinity = {},
    health,
    origins,
    bindings = {},
    ...options
  }: WorkerOptions & {
    entry?: string;
    /** Where the bundle is: BUNDLE_DIR, or another build's (bench:ab). */
    bundleDir?: string;
    affinity?: object;
    health?: object;
    /** The configuration's origins, when they are more than one per URL (ids app-1, app-2, ...). */
    origins?: object[];
    /** Extra bindings, such as AFFINITY_COUNTING. */
    bindings?: Record<string, string>;
  } = {},
): Promise<Miniflare> {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      ...options,
      host: '127.0.0.1',
      port: 0,
      // Listed explicitly: Miniflare 5 does not follow the wrapper's import of the bundle by itself.
      modules: [entry, ...(entry === 'index.js' ? [] : ['index.mjs'])].map((file) => ({
        type: 'ESModule' as const,
        path: join(bundleDir, file),
      })),
      modulesRoot: bundleDir,
      compatibilityDate: COMPATIBILITY_DATE,
      kvNamespaces: { ORIGINS: 'origins' },
      durableObjects: { HEALTH_MONITOR: 'OriginHealthMonitor' },
      resourcePersistencePath: mkdtempSync(join(tmpdir(), 'edge-affinity-bench-')),
      bindings: { AFFINITY_SECRET: SECRET, ...bindings },
      // The decision log is still written (its cost is part of the measurement), just not printed.
      handleStructuredLogs: () => {},
    }),
  );
  const kv = (await mf.getKVNamespace('ORIGINS')) as unknown as { put(key: string, value: string): Promise<void> };
  await kv.put(
    'config',
    JSON.stringify({
      origins: origins ?? originUrls.map((url, i) => ({ id: `app-${i + 1}`, url })),
      affinity,
      health,
    }),
  );
  await mf.ready;
  return mf;
}

/** Opens `count` sessions and returns their affinity cookies, `name=value`. */
export async function openSessions(url: string, count: number): Promise<string[]> {
  const cookies: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(url);
    await response.arrayBuffer();
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('__affinity='));
    if (!cookie) throw new Error(`no affinity cookie from ${url} (status ${response.status})`);
    cookies.push(cookie.split(';')[0]!);
  }
  return cookies;
}
