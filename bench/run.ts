/**
 * `npm run bench`: every performance figure of the README, measured on this machine, printed and
 * written to BENCHMARKS.md with the machine, the date and the command.
 *
 * Shared 2-core machines drift by tens of percent within a minute, so the HTTP figures are taken in
 * interleaved rounds, the order reversed every other round, and each ratio is computed within a round
 * (pass-through and edge-affinity measured back to back) before taking the median over rounds.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Miniflare } from 'miniflare';
import { runQuality } from './hash-quality';
import {
  BUNDLE_DIR,
  buildBundle,
  openSessions,
  runLoad,
  startEdgeAffinity,
  startOrigin,
  startPassThrough,
  type LoadResult,
} from './http-load';
import { runCountingOverhead } from './counting-overhead';
import { prepareSimulationEntry, runFleetSimulation } from './fleet-simulation';
import { runMicro } from './micro';
import { runOverloadCascade } from './overload-cascade';
import { runQuietSpell } from './quiet-spell';
import { cpuMs, pidsOf } from './process-cpu';
import { median, renderReport, type HttpRow } from './report';

const ROOT = resolve(import.meta.dirname, '..');
const CONNECTIONS = 16;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
/** Latency is also measured one request at a time, where it is the cost of a request and not of a queue. */
const LATENCY_CONNECTIONS = 1;

interface Target {
  name: string;
  url: string;
  cookies?: string[];
  workerd?: number;
  saturated: LoadResult[];
  sequential: LoadResult[];
  cpuMs: number;
  requests: number;
}

async function main(): Promise<void> {
  prepareBundle();
  const origin = await startOrigin();
  const instances: Miniflare[] = [];
  try {
    const targets = await startTargets(origin.url, instances);
    console.log(`Throughput: ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${SECONDS} s per target...`);
    for (const target of targets)
      await runLoad(target.url, { connections: CONNECTIONS, seconds: 1, cookies: target.cookies });
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of ordered(targets, round)) {
        const before = cpuMs(target.workerd);
        const result = await runLoad(target.url, {
          connections: CONNECTIONS,
          seconds: SECONDS,
          cookies: target.cookies,
        });
        target.saturated[round] = result;
        target.cpuMs += cpuMs(target.workerd) - before;
        target.requests += result.requests;
      }
      console.log(
        `  round ${round + 1}: ${targets.map((t) => `${Math.round(t.saturated[round]!.requestsPerSecond)}`).join(' / ')} req/s`,
      );
    }
    console.log(`Latency: one connection, ${Math.ceil(ROUNDS / 2)} interleaved rounds of ${SECONDS} s per target...`);
    for (let round = 0; round < Math.ceil(ROUNDS / 2); round++) {
      for (const target of ordered(targets, round)) {
        const options = { connections: LATENCY_CONNECTIONS, seconds: SECONDS, cookies: target.cookies };
        target.sequential.push(await runLoad(target.url, options));
      }
    }
    const http = summarize(targets);
    await Promise.all(instances.map((mf) => mf.dispose()));
    instances.length = 0;
    console.log('Counting KV reads and Durable Object calls in the steady state...');
    const counted = await countBindingCalls(origin.url);
    console.log('Counting for the fleet view: on and off, side by side...');
    const countingOverhead = await runCountingOverhead(origin.url, {
      rounds: ROUNDS + 2,
      seconds: SECONDS,
      connections: CONNECTIONS,
    });
    console.log('1,000 simulated isolates against the real fleet aggregator and coordinator...');
    const fleet = await runFleetSimulation(origin.url);
    console.log('The wait for a fresh health snapshot after a quiet spell...');
    const quietSpell = await runQuietSpell(origin.url);
    console.log('Micro-benchmarks, hashing quality and the overload cascade (simulated)...');
    const report = renderReport({
      cascade: runOverloadCascade(),
      http,
      counted,
      countingOverhead,
      fleet,
      quietSpell,
      micro: await runMicro(),
      quality: runQuality(),
      connections: CONNECTIONS,
      seconds: SECONDS,
      rounds: ROUNDS,
    });
    writeFileSync(resolve(ROOT, 'BENCHMARKS.md'), report.markdown);
    console.log(`\n${report.text}\n\nWritten to BENCHMARKS.md.`);
  } finally {
    await Promise.all(instances.map((mf) => mf.dispose()));
    origin.process.kill();
  }
}

function prepareBundle(): void {
  console.log('Building the worker as wrangler deploy would...');
  buildBundle();
  copyFileSync(resolve(import.meta.dirname, 'workers/counting-entry.js'), resolve(BUNDLE_DIR, 'counting-entry.js'));
  copyFileSync(resolve(BUNDLE_DIR, 'index.js'), resolve(BUNDLE_DIR, 'index.mjs'));
  prepareSimulationEntry();
}

async function startTargets(originUrl: string, instances: Miniflare[]): Promise<Target[]> {
  const start = async (launch: () => Promise<Miniflare>) => {
    const before = pidsOf('workerd');
    const mf = await launch();
    instances.push(mf);
    return { url: (await mf.ready).href, workerd: [...pidsOf('workerd')].find((pid) => !before.has(pid)) };
  };
  const origins = [originUrl, originUrl, originUrl];
  const passThrough = await start(() => startPassThrough(originUrl));
  const affinity = await start(() => startEdgeAffinity(origins));
  const quiet = await start(() => startEdgeAffinity(origins, { affinity: { decisionLog: 'changes' } }));
  const target = (name: string, at: { url: string; workerd?: number }, cookies?: string[]): Target => ({
    name,
    ...at,
    cookies,
    saturated: [],
    sequential: [],
    cpuMs: 0,
    requests: 0,
  });
  return [
    target('origin directly', { url: `${originUrl}/` }),
    target('bare pass-through Worker', passThrough),
    target('edge-affinity, valid cookie', affinity, await openSessions(affinity.url, CONNECTIONS)),
    target('edge-affinity, new sessions', affinity),
    target('edge-affinity, valid cookie, decisionLog "changes"', quiet, await openSessions(quiet.url, CONNECTIONS)),
  ];
}

/** Every other round runs the targets in reverse, so that a drifting machine favours none of them. */
function ordered(targets: Target[], round: number): Target[] {
  return round % 2 === 0 ? targets : [...targets].reverse();
}

function summarize(targets: Target[]): HttpRow[] {
  const passThrough = targets[1]!;
  return targets.map((t) => ({
    name: t.name,
    requestsPerSecond: median(t.saturated.map((r) => r.requestsPerSecond)),
    ratioToPassThrough: median(
      t.saturated.map((r, i) => r.requestsPerSecond / passThrough.saturated[i]!.requestsPerSecond),
    ),
    saturatedP50: median(t.saturated.map((r) => r.p50)),
    saturatedP99: median(t.saturated.map((r) => r.p99)),
    p50: median(t.sequential.map((r) => r.p50)),
    p99: median(t.sequential.map((r) => r.p99)),
    p99AddedToPassThrough: median(t.sequential.map((r, i) => r.p99 - passThrough.sequential[i]!.p99)),
    cpuMsPerRequest: t.workerd === undefined ? Number.NaN : t.cpuMs / t.requests,
    failures: [...t.saturated, ...t.sequential].reduce((sum, r) => sum + r.failures, 0),
  }));
}

/** The steady state through a wrapper that counts binding calls: KV reads and Durable Object calls per request. */
async function countBindingCalls(originUrl: string) {
  const mf = await startEdgeAffinity([originUrl, originUrl, originUrl], { entry: 'counting-entry.js' });
  try {
    const url = (await mf.ready).href;
    const cookies = await openSessions(url, CONNECTIONS);
    const read = async () => (await (await fetch(new URL('/__bench/counts', url))).json()) as Record<string, number>;
    const before = await read();
    const load = await runLoad(url, { connections: CONNECTIONS, seconds: SECONDS * 2, cookies });
    const after = await read();
    return {
      requests: after.requests! - before.requests!,
      kvReads: after.kvReads! - before.kvReads!,
      durableObjectCalls: after.durableObjectCalls! - before.durableObjectCalls!,
      seconds: SECONDS * 2,
      failures: load.failures,
    };
  } finally {
    await mf.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
