/**
 * Load for the HTTP benchmarks. wrk when the machine has it (`apt-get install wrk`): a C load
 * generator that spends about a third of the CPU per request that a Node one does, which matters when
 * it shares two cores with workerd and the origin. Otherwise the project's own low-overhead generator
 * (load-generator.ts). Either way: keep-alive connections, one request in flight on each, every
 * request carrying one of the given cookies (steady state) or none (each request a new session).
 */
import { execFile, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { generateLoad } from './load-generator';

export interface LoadOptions {
  connections: number;
  seconds: number;
  /** Cookies to send, one per request in turn; none: every request is a new session. */
  cookies?: string[];
}

export interface LoadResult {
  requestsPerSecond: number;
  requests: number;
  /** Non-2xx answers, timeouts and broken connections. */
  failures: number;
  /** Latency percentiles of the answers, in milliseconds. */
  p50: number;
  p99: number;
}

const run = promisify(execFile);
const WRK_SCRIPT = resolve(import.meta.dirname, 'wrk/session-load.lua');

export const LOAD_GENERATOR: 'wrk' | 'node' =
  spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined ? 'wrk' : 'node';

export async function runLoad(url: string, options: LoadOptions): Promise<LoadResult> {
  return LOAD_GENERATOR === 'wrk' ? runWrk(url, options) : runNode(url, options);
}

async function runWrk(url: string, { connections, seconds, cookies = [] }: LoadOptions): Promise<LoadResult> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', WRK_SCRIPT, url];
  const { stdout } = await run('wrk', args, { env: { ...process.env, COOKIES: cookies.join('|') } });
  const line = stdout.trim().split('\n').at(-1)!;
  const summary = JSON.parse(line) as {
    requests: number;
    durationUs: number;
    errors: number;
    p50Us: number;
    p99Us: number;
  };
  const answered = summary.requests - summary.errors;
  return {
    requestsPerSecond: answered / (summary.durationUs / 1e6),
    requests: summary.requests,
    failures: summary.errors,
    p50: summary.p50Us / 1000,
    p99: summary.p99Us / 1000,
  };
}

async function runNode(url: string, { connections, seconds, cookies }: LoadOptions): Promise<LoadResult> {
  const outcome = await generateLoad({ url, connections, durationMs: seconds * 1000, cookies });
  const sorted = outcome.latencies.sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
  return {
    requestsPerSecond: outcome.ok / seconds,
    requests: outcome.ok + outcome.failed,
    failures: outcome.failed,
    p50: at(0.5),
    p99: at(0.99),
  };
}
