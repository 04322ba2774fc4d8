/**
 * HTTP throughput and latency, side by side: the origin directly, a bare pass-through Worker and
 * edge-affinity, all under Miniflare (the same workerd, started the same way), loaded by autocannon
 * with the same concurrency, interleaved round by round so that a noisy machine hurts all alike.
 *
 * autocannon's own latency histogram has 1 ms resolution, too coarse for "p99 added ≤ 1 ms", so
 * latencies are taken from its per-response events (fractional milliseconds) instead.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';

export const BUNDLE_DIR = resolve(import.meta.dirname, '../.build/bench');
const ROOT = resolve(import.meta.dirname, '..');
export const COMPATIBILITY_DATE = /compatibility_date\s*=\s*"([^"]+)"/.exec(
  readFileSync(join(ROOT, 'wrangler.toml'), 'utf8'),
)![1]!;
export const SECRET = 'benchmark-secret';

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  requests: number;
  failures: number;
}

export interface LoadOptions {
  connections: number;
  seconds: number;
  /** One cookie per connection (the steady state), or none (new sessions). */
  cookies?: string[];
}

export async function startOrigin(): Promise<{ url: string; process: ChildProcess }> {
  const child = spawn(process.execPath, [resolve(import.meta.dirname, 'origin-server.mjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { url: `http://127.0.0.1:${line.trim()}`, process: child };
}

/** Options every benchmarked Worker shares; `inspectorPort` lets bench:profile attach the profiler. */
export interface WorkerOptions {
  inspectorPort?: number;
}

/** Bundles the worker as `wrangler deploy` would, into BUNDLE_DIR. */
export function buildBundle(): void {
  const root = resolve(import.meta.dirname, '..');
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', BUNDLE_DIR],
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
    affinity = {},
    health,
    origins,
    bindings = {},
    ...options
  }: WorkerOptions & {
    entry?: string;
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
        path: join(BUNDLE_DIR, file),
      })),
      modulesRoot: BUNDLE_DIR,
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

export async function runLoad(url: string, options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  const result = await new Promise<autocannon.Result>((done, fail) => {
    const instance = autocannon(
      {
        url,
        connections: options.connections,
        duration: options.seconds,
        setupClient: (client) => {
          if (options.cookies) client.setHeaders({ cookie: options.cookies[next++ % options.cookies.length]! });
        },
      },
      (error, finished) => (error ? fail(error) : done(finished)),
    );
    // The instance's 'response' event carries the client first (its typings omit it).
    (instance as NodeJS.EventEmitter).on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: latencies.length / options.seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    requests: result.requests.total,
    failures: result.errors + result.timeouts + result.non2xx,
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
