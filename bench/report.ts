/**
 * The benchmark report: the same figures for the terminal and for BENCHMARKS.md, with the machine,
 * the date and the command, and each target checked against its goal.
 */
import { readFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { resolve } from 'node:path';
import { BALANCE_FACTOR, cascadeTable, SEEDS, type CascadeRow } from './overload-cascade';
import type { FleetSimulation } from './fleet-simulation';
import { fleetTierSection, type FleetTierResult } from './fleet-tier';
import type { QualityRow } from './hash-quality';
import type { MicroRow } from './micro';
import type { QuietSpellResult } from './quiet-spell';
import type { Comparison, Spread } from './side-by-side';
import { median } from './stats';

export interface Counted {
  requests: number;
  kvReads: number;
  durableObjectCalls: number;
  seconds: number;
  failures: number;
}

interface ReportInput {
  origin: { kind: 'nginx' | 'node'; requestsPerSecond: number };
  loadGenerator: 'wrk' | 'node';
  comparisons: { steady: Comparison; fresh: Comparison; counting: Comparison };
  cascade: CascadeRow[];
  counted: Counted;
  fleet: FleetSimulation;
  tier: FleetTierResult;
  quietSpell: QuietSpellResult;
  micro: MicroRow[];
  quality: QualityRow[];
}

const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const whole = (value: number) => Math.round(value).toLocaleString('en-US');
const check = (ok: boolean) => (ok ? 'met' : '**missed**');

function goal(name: string, spread: Spread, digits: number, target: string, met: boolean): string[] {
  return [
    name,
    `${fixed(spread.median, digits)} [${fixed(spread.min, digits)}–${fixed(spread.max, digits)}]`,
    target,
    check(met),
  ];
}

function table(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

export function renderReport(input: ReportInput): { text: string; markdown: string } {
  const { steady, fresh, counting } = input.comparisons;
  const { counted } = input;
  const perRequest = (count: number) => count / counted.requests;
  const { plan } = steady;
  const body = [
    `## HTTP, side by side: ${plan.runs} runs of ${plan.rounds} rounds of ${plan.seconds} s, ${plan.connections} connections on each side`,
    `Origin: ${input.origin.kind} (${whole(input.origin.requestsPerSecond)} req/s loaded directly); load generator: ${input.loadGenerator}. ` +
      'In every round both Workers are loaded at once, each by its own load generator; a ratio is taken within a round, ' +
      'a run is the median of its rounds, and the spread is that of the runs.',
    table(
      [
        'comparison',
        'req/s (median of runs)',
        'ratio, median [spread of runs]',
        'runs',
        'p99 ms (16 connections)',
        'workerd CPU ms/request',
      ],
      [steady, fresh, counting].map((c) => [
        `${c.subject} / ${c.base}`,
        `${whole(c.subjectRequestsPerSecond)} / ${whole(c.baseRequestsPerSecond)}`,
        `${fixed(c.ratio.median, 3)} [${fixed(c.ratio.min, 3)}–${fixed(c.ratio.max, 3)}]`,
        c.runs.map((r) => fixed(r.ratio, 3)).join(', '),
        `${fixed(median(c.runs.map((r) => r.subjectP99)))} / ${fixed(median(c.runs.map((r) => r.baseP99)))}`,
        `${fixed(c.subjectCpuMsPerRequest, 3)} / ${fixed(c.baseCpuMsPerRequest, 3)}`,
      ]),
    ),
    table(
      ['goal', 'measured: median [spread of runs]', 'target', ''],
      [
        goal('steady-state throughput / pass-through', steady.ratio, 3, '≥ 0.95', steady.ratio.median >= 0.95),
        goal('new-session throughput / pass-through', fresh.ratio, 3, '≥ 0.90', fresh.ratio.median >= 0.9),
        goal(
          'p99 added at 16 connections, steady state (ms)',
          steady.p99Added,
          2,
          '≤ 1 ms',
          steady.p99Added.median <= 1,
        ),
        goal(
          'workerd CPU added per steady-state request (ms)',
          steady.cpuMsAdded,
          3,
          '≤ 0.05 ms',
          steady.cpuMsAdded.median <= 0.05,
        ),
        goal(
          'workerd CPU added per new session (ms)',
          fresh.cpuMsAdded,
          3,
          '≤ 0.15 ms',
          fresh.cpuMsAdded.median <= 0.15,
        ),
        goal('steady state, counting on / off', counting.ratio, 3, '≥ 0.98', counting.ratio.median >= 0.98),
        [
          'KV reads per request, steady state',
          fixed(perRequest(counted.kvReads), 5),
          '0',
          check(perRequest(counted.kvReads) < 0.001),
        ],
        [
          'Durable Object calls per request, steady state',
          fixed(perRequest(counted.durableObjectCalls), 5),
          '0',
          check(perRequest(counted.durableObjectCalls) < 0.001),
        ],
      ],
    ),
    `Failed requests in all comparisons: ${steady.failures + fresh.failures + counting.failures}. ` +
      `Counted through a wrapper around the bindings: ${whole(counted.requests)} steady-state requests in ${counted.seconds} s made ` +
      `${counted.kvReads} KV reads and ${counted.durableObjectCalls} Durable Object calls in all: the background refreshes ` +
      '(configuration every 10 s, health snapshot every 5 s, traffic report every 10 s), which do not grow with traffic.',
    ...fleetSections(
      input.fleet,
      input.micro.find((r) => r.name.startsWith('count one request'))?.value ?? Number.NaN,
      counting.subjectCpuMsPerRequest,
    ),
    fleetTierSection(input.tier),
    '## After a quiet spell',
    `The first request after an isolate was idle longer than the probe interval waits for a fresh health snapshot ` +
      `(never longer than ${input.quietSpell.boundMs} ms) rather than route by an old one. Over ${input.quietSpell.spells} ` +
      `quiet spells of ${input.quietSpell.intervalSeconds + 0.3} s (interval ${input.quietSpell.intervalSeconds} s), ` +
      `that request took ${fixed(input.quietSpell.medianAddedMs)} ms longer than the one right behind it (median; ` +
      `at most ${fixed(input.quietSpell.maxAddedMs)} ms): one Durable Object round trip, here on the same machine.`,
    '## Micro-benchmarks (Node 22, one core)',
    table(
      ['operation', 'result', 'unit'],
      input.micro.map((r) => [r.name, r.unit === 'ms' ? fixed(r.value, 1) : whole(r.value), r.unit]),
    ),
    ...cascadeSection(input.cascade),
    '## Hashing quality (equal weights; the yardstick is a uniformly random assignment of the same keys)',
    table(
      [
        'algorithm',
        'origins',
        'keys',
        'max/mean load',
        'keys moved when one origin leaves',
        'its own share (ideal)',
        'largest share of its keys to one survivor',
        'ideal 1/(n-1)',
      ],
      input.quality.map((q) => [
        q.algorithm,
        String(q.origins),
        whole(q.keys),
        fixed(q.maxOverMean, 3),
        `${fixed(q.movedFraction * 100, 2)}%`,
        `${fixed(q.departedShare * 100, 2)}%`,
        `${fixed(q.largestSurvivorShare * 100, 2)}%`,
        `${fixed(100 / (q.origins - 1), 2)}%`,
      ]),
    ),
  ].join('\n\n');
  const markdown = `# Benchmarks\n\n${machine()}\n\n${body}\n`;
  return { text: body, markdown };
}

function machine(): string {
  const workerd = JSON.parse(
    readFileSync(resolve(import.meta.dirname, '../node_modules/workerd/package.json'), 'utf8'),
  ).version;
  const cpu = cpus();
  const settings = ['BENCH_RUNS', 'BENCH_ROUNDS', 'BENCH_SECONDS'].map(
    (name) => process.env[name] && `${name}=${process.env[name]}`,
  );
  return [
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`${[...settings.filter(Boolean), 'npm run bench'].join(' ')}\`.`,
    `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}; ` +
      `Node ${process.versions.node}; workerd ${workerd} under Miniflare. Load generators, origin and both workerd ` +
      'processes share these cores, so absolute figures are low and noisy; compare the ratios, which are taken side by side.',
  ].join('\n');
}

function fleetSections(fleet: FleetSimulation, countingOps: number, cpuMsPerRequest: number): string[] {
  const countingMs = 1000 / countingOps;
  const calls = (c: FleetSimulation['reports']) =>
    `${whole(c.calls)} calls, ${fixed(c.perSecond, 1)}/s, p50 ${fixed(c.p50Ms)} ms, p99 ${fixed(c.p99Ms)} ms, ${c.failed} failed`;
  const sessionError = Math.abs(fleet.estimatedSessions - fleet.distinctSessions) / fleet.distinctSessions;
  return [
    `Counting one request for the fleet view takes ${fixed(countingMs * 1000, 2)} µs (micro-benchmark below), ` +
      `${fixed((countingMs / cpuMsPerRequest) * 100, 3)}% of the workerd CPU of a steady-state request; its report is one ` +
      'Durable Object call per isolate per 10 s, behind a response.',
    `## Fleet view at ${whole(fleet.isolates)} isolates, each calling the global objects itself as before the location tier (simulated against the real objects in workerd, ${fleet.seconds} s)`,
    table(
      ['direction', 'what 1,000 isolates send', 'measured'],
      [
        ['traffic reports → fleet aggregator', 'one per isolate per 10 s: 100/s', calls(fleet.reports)],
        ['health snapshot reads → coordinator', 'one per isolate per 5 s: 200/s', calls(fleet.snapshots)],
        [
          'one object, 64 calls in flight (lower bound here)',
          '',
          `${whole(fleet.reportCapacity)} reports/s, ${whole(fleet.snapshotCapacity)} snapshot reads/s`,
        ],
      ],
    ),
    `The aggregator counted ${whole(fleet.countedRequests)} requests of the ${whole(fleet.sentRequests)} the simulated isolates reported, ` +
      `and estimated ${whole(fleet.estimatedSessions)} active sessions for ${whole(fleet.distinctSessions)} distinct ones ` +
      `(${fixed(sessionError * 100, 1)}% off; the sketch's bound is 9.75%). Latencies include the HTTP hop from the load generator into workerd.`,
  ];
}

function cascadeSection(rows: CascadeRow[]): string[] {
  return [
    `## The sticky overload cascade, simulated (pure core, no network; \`npm run bench:overload\` alone)`,
    'Ten origins of 100 requests/s; about 3,000 sessions of 0.2 requests/s (60% of the capacity), their keys ' +
      'from 1,000 tenants of Zipf-distributed sizes (`affinity.key: "header:x-tenant"`), over ten isolates; at 5 ' +
      'minutes one origin becomes ten times slower. An origin at or over its capacity fails its probes (every 5 s, ' +
      'fall 2) and its sessions move. Placement is the worker’s own (`planRoute`, `loadBound`), by the load the ' +
      'worker sees: the fleet’s figures every 10 s over 20 s, plus the placing isolate’s own requests in flight. ' +
      `Without a balance factor and with \`balanceFactor: ${BALANCE_FACTOR}\`; medians over ${SEEDS.length} seeds (range). ` +
      '"load max/mean": the busiest healthy origin’s requests in flight over the mean, averaged over the run.',
    cascadeTable(rows),
  ];
}
