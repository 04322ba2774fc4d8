/**
 * `npm run bench:ab -- <git ref>`: this checkout's worker against the worker of another commit, side
 * by side in the harness of `npm run bench` (side-by-side.ts: both loaded at once, runs of rounds,
 * the spread of the runs), for the steady state and for new sessions. It is the before/after of a
 * change to the request path, measured on one machine in one sitting, where the absolute figures
 * of two separate `npm run bench` runs drift by more than the change.
 *
 * The other commit is checked out into a temporary worktree (this repository's node_modules linked
 * in) and bundled as `wrangler deploy` would; each build runs with its own defaults, which is what
 * a user of each gets.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Miniflare } from 'miniflare';
import { BUNDLE_DIR, buildBundle, openSessions, startEdgeAffinity } from './http-load';
import { LOAD_GENERATOR } from './load';
import { startOrigin } from './origin';
import { pidsOf } from './process-cpu';
import { compareSideBySide, comparisonPlanFromEnv, type Comparison, type Side } from './side-by-side';

const ROOT = resolve(import.meta.dirname, '..');
const PLAN = comparisonPlanFromEnv();

async function main(): Promise<void> {
  const ref = process.argv[2];
  if (!ref) throw new Error('usage: npm run bench:ab -- <git ref to compare this checkout with>');
  const commit = git('rev-parse', '--verify', `${ref}^{commit}`);
  const otherBundle = buildAt(commit);
  buildBundle();
  const origin = await startOrigin();
  const instances: Miniflare[] = [];
  const start = async (name: string, bundleDir: string): Promise<Side> => {
    const before = pidsOf('workerd');
    const mf = await startEdgeAffinity([origin.url, origin.url, origin.url], { bundleDir });
    instances.push(mf);
    return { name, url: (await mf.ready).href, workerd: [...pidsOf('workerd')].find((pid) => !before.has(pid)) };
  };
  try {
    const before = await start(`${ref} (${commit.slice(0, 7)})`, otherBundle);
    const now = await start('this checkout', BUNDLE_DIR);
    console.log(`Origin: ${origin.kind}; load generator: ${LOAD_GENERATOR}.`);
    const steady = await compareSideBySide(
      { ...before, cookies: await openSessions(before.url, PLAN.connections) },
      { ...now, cookies: await openSessions(now.url, PLAN.connections) },
      PLAN,
    );
    const fresh = await compareSideBySide(before, now, PLAN);
    console.log(`\n${table({ 'steady state (valid cookies)': steady, 'new sessions': fresh })}`);
  } finally {
    await Promise.all(instances.map((mf) => mf.dispose()));
    origin.stop();
  }
}

/** Bundles the worker as it was at `commit`, in a worktree removed afterwards. */
function buildAt(commit: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'edge-affinity-ab-'));
  const checkout = join(dir, 'checkout');
  git('worktree', 'add', '--detach', checkout, commit);
  try {
    symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
    buildBundle(join(dir, 'bundle'), checkout);
  } finally {
    git('worktree', 'remove', '--force', checkout);
  }
  return join(dir, 'bundle');
}

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

function table(comparisons: Record<string, Comparison>): string {
  const rows = Object.entries(comparisons).map(([name, c]) => {
    const spread = `${c.ratio.median.toFixed(3)} [${c.ratio.min.toFixed(3)}–${c.ratio.max.toFixed(3)}]`;
    const cpu = `${c.baseCpuMsPerRequest.toFixed(3)} / ${c.subjectCpuMsPerRequest.toFixed(3)}`;
    const rps = `${Math.round(c.baseRequestsPerSecond)} / ${Math.round(c.subjectRequestsPerSecond)}`;
    return `| ${name} | ${rps} | ${spread} | ${cpu} | ${c.failures} |`;
  });
  return [
    `${PLAN.runs} runs of ${PLAN.rounds} rounds of ${PLAN.seconds} s, ${PLAN.connections} connections on each side:`,
    '',
    `| case | req/s, before / now | now ÷ before: median [spread of runs] | workerd CPU ms/request, before / now | failed |`,
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

await main();
