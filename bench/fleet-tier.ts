/**
 * `npm run bench:fleet-tier` (and part of `npm run bench`): the tier of location objects at 10,000 and
 * 100,000 isolates over 300 locations (Zipf traffic per location).
 *
 * 1. The simulation (tier-simulation.ts): the worker's own relay, receipts, snapshot ages and fleet
 *    window in virtual time. It says how many calls reach each global object, how old the snapshot is
 *    that requests route by (beside the design before the tier, in the same simulation), and whether
 *    every request was counted once (a location object restarted and the aggregator refused forwards
 *    for 3 s during the run) and the sessions within the sketch's error.
 * 2. The real global objects in workerd, loaded at the rates the simulation found for 100,000
 *    isolates: the 300 location objects' merged forwards to `fleet` (each the size of its location's
 *    isolates' reports) and their snapshot reads from `coordinator`, open loop for 20 s; then what one
 *    object takes here with 64 calls in flight (the same probe as the 1,000-isolate simulation, three
 *    times), the capacity the goal is measured against: each global object under 10% of it.
 *
 * On its own it writes its section of BENCHMARKS.md in place; `npm run bench` writes it with the rest.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HLL_RELATIVE_ERROR } from '../worker/core/fleet/hyperloglog';
import { relayedSnapshotMaxAgeMs } from '../worker/core/health/snapshot-age';
import { LOCATION_FORWARD_INTERVAL_MS } from '../worker/monitor/location-protocol';
import {
  capacity,
  openLoop,
  prepareSimulationEntry,
  stats,
  withSimulationWorker,
  type CallStats,
} from './fleet-simulation';
import { buildBundle, BUNDLE_DIR } from './http-load';
import { startOrigin } from './origin';
import { median } from './stats';
import {
  DEFAULT_TIER_SCENARIO,
  healthWithInterval,
  isolatesPerLocation,
  simulateTier,
  type TierOutcome,
} from './tier-simulation';

const ISOLATES = [10_000, 100_000];
const REAL_SECONDS = 20;
/** Calls per forward route: requests per origin per isolate in fleet-sim-entry.js, times its 10 origins. */
const REQUESTS_PER_ISOLATE_FORWARD = 5 * 10;
const SESSIONS_PER_ISOLATE_FORWARD = 3 * 10;
const GOAL_SHARE = 0.1;
/**
 * Probes of one object's capacity, 5 s each. Other work shares these two cores and moves a single
 * probe by half; the goal is judged against the median of them.
 */
const CAPACITY_PROBES = 3;

export interface RealTierLoad {
  isolates: number;
  forwards: CallStats;
  snapshots: CallStats;
  countedRequests: number;
  sentRequests: number;
  estimatedSessions: number;
  distinctSessions: number;
  /** Calls per second one object answered, 64 in flight, per probe. */
  reportCapacity: number[];
  snapshotCapacity: number[];
}

export interface FleetTierResult {
  simulated: TierOutcome[];
  direct: TierOutcome[];
  real: RealTierLoad;
  startedAt: Date;
}

export async function runFleetTier(originUrl: string): Promise<FleetTierResult> {
  const startedAt = new Date();
  const simulated: TierOutcome[] = [];
  const direct: TierOutcome[] = [];
  for (const isolates of ISOLATES) {
    console.log(`  simulating ${isolates.toLocaleString('en-US')} isolates, with the tier and without...`);
    simulated.push(simulateTier({ ...DEFAULT_TIER_SCENARIO, isolates }));
    direct.push(simulateTier({ ...DEFAULT_TIER_SCENARIO, isolates, tier: false }));
  }
  console.log('  the real global objects at the rates of 300 location objects for 100,000 isolates...');
  const real = await loadRealObjects(originUrl, ISOLATES.at(-1)!);
  return { simulated, direct, real, startedAt };
}

async function loadRealObjects(originUrl: string, isolates: number): Promise<RealTierLoad> {
  return withSimulationWorker(originUrl, async ({ base, storedView }) => {
    const perLocation = isolatesPerLocation(isolates, DEFAULT_TIER_SCENARIO.locations, DEFAULT_TIER_SCENARIO.zipf);
    // The wrapper builds each location's merged batch on its first forward (the busiest: 480,000
    // hashes); built before the clock starts, so that the latencies are the objects', not the harness's.
    for (const [l, count] of perLocation.entries()) {
      await (await fetch(`${base}/__sim/forward?location=${l}&isolates=${count}`)).arrayBuffer();
    }
    const countedBefore = (await storedView()).requests;
    const copyAgeMs = relayedSnapshotMaxAgeMs(healthWithInterval(DEFAULT_TIER_SCENARIO.interval));
    const forwards: { at: number; url: string }[] = [];
    const snapshots: { at: number; url: string }[] = [];
    perLocation.forEach((count, l) => {
      const phase = (l / perLocation.length) * LOCATION_FORWARD_INTERVAL_MS;
      for (let t = phase; t < REAL_SECONDS * 1000; t += LOCATION_FORWARD_INTERVAL_MS) {
        forwards.push({ at: t, url: `${base}/__sim/forward?location=${l}&isolates=${count}` });
      }
      for (let t = (phase * copyAgeMs) / LOCATION_FORWARD_INTERVAL_MS; t < REAL_SECONDS * 1000; t += copyAgeMs) {
        snapshots.push({ at: t, url: `${base}/__sim/snapshot` });
      }
    });
    forwards.sort((a, b) => a.at - b.at);
    snapshots.sort((a, b) => a.at - b.at);
    const began = performance.now();
    const [forwardLatencies, snapshotLatencies] = await Promise.all([
      openLoop(forwards, began),
      openLoop(snapshots, began),
    ]);
    const view = await storedView();
    const forwardedPerRound = perLocation.reduce((sum, count) => sum + count, 0) * REQUESTS_PER_ISOLATE_FORWARD;
    const rounds = REAL_SECONDS / (LOCATION_FORWARD_INTERVAL_MS / 1000);
    const reportCapacity: number[] = [];
    const snapshotCapacity: number[] = [];
    for (let probe = 0; probe < CAPACITY_PROBES; probe++) {
      reportCapacity.push(await capacity((i) => `${base}/__sim/report?isolate=${i % 1000}`, 5));
      snapshotCapacity.push(await capacity(() => `${base}/__sim/snapshot`, 5));
    }
    return {
      isolates,
      forwards: stats(forwardLatencies, REAL_SECONDS),
      snapshots: stats(snapshotLatencies, REAL_SECONDS),
      countedRequests: view.requests - countedBefore,
      sentRequests: forwardLatencies.every(Number.isFinite) ? forwardedPerRound * rounds : Number.NaN,
      estimatedSessions: view.activeSessions,
      distinctSessions: isolates * SESSIONS_PER_ISOLATE_FORWARD,
      reportCapacity,
      snapshotCapacity,
    };
  });
}

const whole = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');
const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const seconds = (ms: number) => `${fixed(ms / 1000)} s`;
const percent = (share: number, digits = 1) => `${fixed(share * 100, digits)}%`;
const capacityText = (probes: number[]) =>
  `${whole(median(probes))} [${whole(Math.min(...probes))}–${whole(Math.max(...probes))}]`;

function table(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

const SECTION_START = '<!-- fleet-tier: written by bench/fleet-tier.ts -->';
const SECTION_END = '<!-- /fleet-tier -->';

/** The section of BENCHMARKS.md, between its markers. */
export function fleetTierSection(result: FleetTierResult): string {
  const { real } = result;
  const scenario = DEFAULT_TIER_SCENARIO;
  const simulation = table(
    [
      'isolates (busiest / median location)',
      'calls/s → `fleet` (one level)',
      'calls/s → `coordinator` (one level)',
      'busiest location object: reports/s + snapshot reads/s',
      'snapshot age at requests, p50 / p99 (one level)',
      'requests that waited for a snapshot (one level), wait p50 / p99',
      'requests counted / aggregated (batches sent again; forwards refused)',
      'sessions estimated / distinct',
    ],
    result.simulated.map((tier, i) => {
      const flat = result.direct[i]!;
      return [
        `${whole(tier.scenario.isolates)} (${whole(tier.isolatesPerLocation.busiest)} / ${whole(tier.isolatesPerLocation.median)})`,
        `${fixed(tier.fleetPerSecond)} (${whole(tier.directFleetPerSecond)})`,
        `${fixed(tier.coordinatorPerSecond)} (${whole(flat.coordinatorPerSecond)})`,
        `${whole(tier.busiestLocationPerSecond.reports)} + ${whole(tier.busiestLocationPerSecond.snapshots)}`,
        `${seconds(tier.snapshotAgeMs.p50)} / ${seconds(tier.snapshotAgeMs.p99)} (${seconds(flat.snapshotAgeMs.p50)} / ${seconds(flat.snapshotAgeMs.p99)})`,
        `${percent(tier.requestsThatWaited / tier.requestsAfterWarmup)} (${percent(flat.requestsThatWaited / flat.requestsAfterWarmup)}), ` +
          `${whole(tier.waitMs.p50)} / ${whole(tier.waitMs.p99)} ms (${whole(flat.waitMs.p50)} / ${whole(flat.waitMs.p99)} ms)`,
        `${whole(tier.counted)} / ${whole(tier.aggregated)} (${whole(tier.resentBatches)}; ${whole(tier.failedForwards)})`,
        `${whole(tier.estimatedSessions)} / ${whole(tier.distinctSessions)} (${percent(Math.abs(tier.estimatedSessions - tier.distinctSessions) / tier.distinctSessions)} off)`,
      ];
    }),
  );
  const big = result.simulated.at(-1)!;
  const calls = (s: CallStats) =>
    `${whole(s.calls)} calls, ${fixed(s.perSecond)}/s, p50 ${fixed(s.p50Ms, 2)} ms, p99 ${fixed(s.p99Ms, 2)} ms, ${whole(s.failed)} failed`;
  const [reportCapacity, snapshotCapacity] = [median(real.reportCapacity), median(real.snapshotCapacity)];
  const fleetShare = big.fleetPerSecond / reportCapacity;
  const coordinatorShare = big.coordinatorPerSecond / snapshotCapacity;
  const check = (share: number) => (share < GOAL_SHARE ? 'met' : '**missed**');
  return [
    SECTION_START,
    `## Fleet tier per location: 10,000 and 100,000 isolates over ${scenario.locations} locations`,
    `Measured ${result.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC with \`npm run bench:fleet-tier\` (also part of \`npm run bench\`).`,
    `**Simulated** (bench/tier-simulation.ts: the worker's own relay, receipts, snapshot ages and fleet window in virtual time; ` +
      `isolates per location by a Zipf law of exponent ${scenario.zipf}; ${scenario.requestRate} requests/s per isolate, Poisson; ` +
      `probe interval ${scenario.interval} s; 1 ms to the location object, 20–250 ms round trip from a location to the global objects; ` +
      `figures over ${scenario.seconds - scenario.warmupSeconds} s after a ${scenario.warmupSeconds} s warm-up, then ${scenario.flushSeconds} s for what is held to arrive). ` +
      `During the run the busiest location's object restarts and the aggregator refuses forwards for 3 s. "One level": the same simulation with every isolate calling the global objects itself.`,
    simulation,
    `**The real global objects in workerd** at the rates of 300 location objects for ${whole(real.isolates)} isolates (open loop, ${REAL_SECONDS} s; each forward the merged reports of its location's isolates):`,
    table(
      ['direction', 'measured'],
      [
        ['merged forwards → fleet aggregator, one per location per 10 s', calls(real.forwards)],
        ['snapshot reads → coordinator, one per location per 4 s', calls(real.snapshots)],
        [
          `one object, 64 calls in flight, ${CAPACITY_PROBES} probes of 5 s (lower bound here): median [range]`,
          `${capacityText(real.reportCapacity)} reports/s, ${capacityText(real.snapshotCapacity)} snapshot reads/s`,
        ],
      ],
    ),
    `The aggregator counted ${whole(real.countedRequests)} requests of the ${whole(real.sentRequests)} forwarded, and estimated ` +
      `${whole(real.estimatedSessions)} active sessions for ${whole(real.distinctSessions)} distinct ones ` +
      `(${percent(Math.abs(real.estimatedSessions - real.distinctSessions) / real.distinctSessions)} off; the sketch's bound is ${percent(3 * HLL_RELATIVE_ERROR, 2)}).`,
    table(
      ['goal at 100,000 isolates', 'measured', 'target', ''],
      [
        [
          'calls/s reaching `fleet` / one object’s capacity',
          `${fixed(big.fleetPerSecond)} / ${whole(reportCapacity)} = ${percent(fleetShare)}`,
          '< 10%',
          check(fleetShare),
        ],
        [
          'calls/s reaching `coordinator` / one object’s capacity',
          `${fixed(big.coordinatorPerSecond)} / ${whole(snapshotCapacity)} = ${percent(coordinatorShare)}`,
          '< 10%',
          check(coordinatorShare),
        ],
      ],
    ),
    SECTION_END,
  ].join('\n\n');
}

/** Writes the section into BENCHMARKS.md, in place of the one there, or at its end. */
export function writeFleetTierSection(section: string, file = resolve(import.meta.dirname, '../BENCHMARKS.md')): void {
  const text = readFileSync(file, 'utf8');
  const [start, end] = [text.indexOf(SECTION_START), text.indexOf(SECTION_END)];
  const next =
    start >= 0 && end > start
      ? text.slice(0, start) + section + text.slice(end + SECTION_END.length)
      : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log('Building the worker as wrangler deploy would...');
  buildBundle();
  copyFileSync(resolve(BUNDLE_DIR, 'index.js'), resolve(BUNDLE_DIR, 'index.mjs'));
  prepareSimulationEntry();
  const origin = await startOrigin();
  try {
    const section = fleetTierSection(await runFleetTier(origin.url));
    writeFleetTierSection(section);
    console.log(`\n${section}\n\nWritten to BENCHMARKS.md.`);
  } finally {
    origin.stop();
  }
}
