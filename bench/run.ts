/**
 * `npm run bench`: every performance figure of the README, measured on this machine, printed and
 * written to BENCHMARKS.md with the machine, the date and the command.
 *
 * The HTTP figures compare two Workers side by side (side-by-side.ts): edge-affinity against a bare
 * pass-through Worker for the steady state (valid cookies) and for new sessions, and edge-affinity
 * with counting on against off. Each comparison is three runs of interleaved rounds, reported with
 * the spread of the runs. The origin is nginx and the load generator wrk when the machine has them
 * (`apt-get install nginx-light wrk`): both cost little CPU per request, which is what lets a 5%
 * difference show on two shared cores.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Miniflare } from 'miniflare';
import { runFleetSimulation, prepareSimulationEntry } from './fleet-simulation';
import { runFleetTier } from './fleet-tier';
import { runQuality } from './hash-quality';
import { BUNDLE_DIR, buildBundle, openSessions, startEdgeAffinity, startPassThrough } from './http-load';
import { LOAD_GENERATOR, runLoad } from './load';
import { runMicro } from './micro';
import { startOrigin } from './origin';
import { runOverloadCascade } from './overload-cascade';
import { pidsOf } from './process-cpu';
import { runQuietSpell } from './quiet-spell';
import { renderReport, type Counted } from './report';
import { compareSideBySide, comparisonPlanFromEnv, type Side } from './side-by-side';

const ROOT = resolve(import.meta.dirname, '..');
const PLAN = comparisonPlanFromEnv();

async function main(): Promise<void> {
  prepareBundle();
  const origin = await startOrigin();
  const instances: Miniflare[] = [];
  const start = async (name: string, launch: () => Promise<Miniflare>): Promise<Side> => {
    const before = pidsOf('workerd');
    const mf = await launch();
    instances.push(mf);
    return { name, url: (await mf.ready).href, workerd: [...pidsOf('workerd')].find((pid) => !before.has(pid)) };
  };
  try {
    console.log(`Origin: ${origin.kind}; load generator: ${LOAD_GENERATOR}.`);
    const origins = [origin.url, origin.url, origin.url];
    const passThrough = await start('bare pass-through Worker', () => startPassThrough(origin.url));
    const affinity = await start('edge-affinity', () => startEdgeAffinity(origins));
    const uncounted = await start('edge-affinity, counting off', () =>
      startEdgeAffinity(origins, { bindings: { AFFINITY_COUNTING: 'off' } }),
    );
    const steady = { ...affinity, name: 'edge-affinity, valid cookie', cookies: await openSessions(affinity.url, 16) };
    const fresh = { ...affinity, name: 'edge-affinity, new sessions' };
    const steadyUncounted = { ...uncounted, cookies: await openSessions(uncounted.url, 16) };
    console.log(
      `Side by side, ${PLAN.runs} runs of ${PLAN.rounds} rounds of ${PLAN.seconds} s, ${PLAN.connections} connections each:`,
    );
    const comparisons = {
      steady: await compareSideBySide(passThrough, steady, PLAN),
      fresh: await compareSideBySide(passThrough, fresh, PLAN),
      counting: await compareSideBySide(steadyUncounted, { ...steady, name: 'edge-affinity, counting on' }, PLAN),
    };
    const direct = await runLoad(`${origin.url}/`, { connections: PLAN.connections, seconds: PLAN.seconds });
    await Promise.all(instances.splice(0).map((mf) => mf.dispose()));
    console.log('Counting KV reads and Durable Object calls in the steady state...');
    const counted = await countBindingCalls(origin.url);
    console.log('1,000 simulated isolates against the real fleet aggregator and coordinator...');
    const fleet = await runFleetSimulation(origin.url);
    console.log('The location tier at 10,000 and 100,000 isolates (simulated, then the real global objects)...');
    const tier = await runFleetTier(origin.url);
    console.log('The wait for a fresh health snapshot after a quiet spell...');
    const quietSpell = await runQuietSpell(origin.url);
    console.log('Micro-benchmarks, hashing quality and the overload cascade (simulated)...');
    const report = renderReport({
      origin: { kind: origin.kind, requestsPerSecond: direct.requestsPerSecond },
      loadGenerator: LOAD_GENERATOR,
      comparisons,
      cascade: runOverloadCascade(),
      counted,
      fleet,
      tier,
      quietSpell,
      micro: await runMicro(),
      quality: runQuality(),
    });
    writeFileSync(resolve(ROOT, 'BENCHMARKS.md'), report.markdown);
    console.log(`\n${report.text}\n\nWritten to BENCHMARKS.md.`);
  } finally {
    await Promise.all(instances.map((mf) => mf.dispose()));
    origin.stop();
  }
}

function prepareBundle(): void {
  console.log('Building the worker as wrangler deploy would...');
  buildBundle();
  copyFileSync(resolve(import.meta.dirname, 'workers/counting-entry.js'), resolve(BUNDLE_DIR, 'counting-entry.js'));
  copyFileSync(resolve(BUNDLE_DIR, 'index.js'), resolve(BUNDLE_DIR, 'index.mjs'));
  prepareSimulationEntry();
}

/** The steady state through a wrapper that counts binding calls: KV reads and Durable Object calls per request. */
async function countBindingCalls(originUrl: string): Promise<Counted> {
  const mf = await startEdgeAffinity([originUrl, originUrl, originUrl], { entry: 'counting-entry.js' });
  try {
    const url = (await mf.ready).href;
    const cookies = await openSessions(url, PLAN.connections);
    const read = async () => (await (await fetch(new URL('/__bench/counts', url))).json()) as Record<string, number>;
    const before = await read();
    const seconds = PLAN.seconds * 3;
    const load = await runLoad(url, { connections: PLAN.connections, seconds, cookies });
    const after = await read();
    return {
      requests: after.requests! - before.requests!,
      kvReads: after.kvReads! - before.kvReads!,
      durableObjectCalls: after.durableObjectCalls! - before.durableObjectCalls!,
      seconds,
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
