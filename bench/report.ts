/**
 * The benchmark report: the same figures for the terminal and for BENCHMARKS.md, with the machine,
 * the date and the command, and each target checked against its goal.
 */
import { readFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { resolve } from 'node:path';
import type { CountingOverhead } from './counting-overhead';
import { BALANCE_FACTOR, cascadeTable, SEEDS, type CascadeRow } from './overload-cascade';
import type { FleetSimulation } from './fleet-simulation';
import type { QualityRow } from './hash-quality';
import type { MicroRow } from './micro';
import type { QuietSpellResult } from './quiet-spell';

export interface HttpRow {
  name: string;
  /** Median over rounds, as fast as the target answers. */
  requestsPerSecond: number;
  /** Median over rounds of this target's throughput over the pass-through's in the same round. */
  ratioToPassThrough: number;
  /** Latency percentiles under the same load as the throughput (medians over rounds). */
  saturatedP50: number;
  saturatedP99: number;
  /** Latency percentiles one request at a time: the cost of a request, no queueing (medians over rounds). */
  p50: number;
  p99: number;
  p99AddedToPassThrough: number;
  /** CPU the workerd process spent per request (NaN for the origin, which has none). */
  cpuMsPerRequest: number;
  failures: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface Counted {
  requests: number;
  kvReads: number;
  durableObjectCalls: number;
  seconds: number;
  failures: number;
}

interface ReportInput {
  cascade: CascadeRow[];
  http: HttpRow[];
  counted: Counted;
  countingOverhead: CountingOverhead;
  fleet: FleetSimulation;
  quietSpell: QuietSpellResult;
  micro: MicroRow[];
  quality: QualityRow[];
  connections: number;
  seconds: number;
  rounds: number;
}

const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const whole = (value: number) => Math.round(value).toLocaleString('en-US');
const check = (ok: boolean) => (ok ? 'met' : '**missed**');

function table(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

export function renderReport(input: ReportInput): { text: string; markdown: string } {
  const [, passThrough, steady, fresh, quiet] = input.http as [HttpRow, HttpRow, HttpRow, HttpRow, HttpRow];
  const addedCpu = steady.cpuMsPerRequest - passThrough.cpuMsPerRequest;
  const { counted } = input;
  const perRequest = (count: number) => count / counted.requests;
  const body = [
    `## HTTP: ${input.connections} connections, ${input.rounds} interleaved rounds of ${input.seconds} s per target`,
    table(
      [
        'target',
        'req/s',
        '× pass-through',
        `p50 / p99 ms, ${input.connections} connections`,
        'p50 / p99 ms, 1 connection',
        'workerd CPU ms/request',
        'failed',
      ],
      input.http.map((r) => [
        r.name,
        whole(r.requestsPerSecond),
        fixed(r.ratioToPassThrough),
        `${fixed(r.saturatedP50)} / ${fixed(r.saturatedP99)}`,
        `${fixed(r.p50)} / ${fixed(r.p99)}`,
        fixed(r.cpuMsPerRequest, 3),
        String(r.failures),
      ]),
    ),
    table(
      ['goal', 'measured', 'target', ''],
      [
        [
          'steady-state throughput / pass-through',
          fixed(steady.ratioToPassThrough),
          '≥ 0.90',
          check(steady.ratioToPassThrough >= 0.9),
        ],
        [
          'p99 added over pass-through (steady state, 1 connection)',
          `${fixed(steady.p99AddedToPassThrough)} ms`,
          '≤ 1 ms',
          check(steady.p99AddedToPassThrough <= 1),
        ],
        [
          'new-session throughput / pass-through',
          fixed(fresh.ratioToPassThrough),
          '≥ 0.80',
          check(fresh.ratioToPassThrough >= 0.8),
        ],
        ['steady state, decisionLog "changes" / pass-through', fixed(quiet.ratioToPassThrough), '', ''],
        ['workerd CPU added per steady-state request', `${fixed(addedCpu, 3)} ms`, '', ''],
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
    `Counted through a wrapper around the bindings: ${whole(counted.requests)} steady-state requests in ${counted.seconds} s made ` +
      `${counted.kvReads} KV reads and ${counted.durableObjectCalls} Durable Object calls in all: the background refreshes ` +
      '(configuration every 10 s, health snapshot every 5 s, traffic report every 10 s), which do not grow with traffic.',
    ...fleetSections(
      input.countingOverhead,
      input.fleet,
      input.micro.find((r) => r.name.startsWith('count one request'))?.value ?? Number.NaN,
    ),
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
  const settings = [
    process.env.BENCH_SECONDS && `BENCH_SECONDS=${process.env.BENCH_SECONDS}`,
    process.env.BENCH_ROUNDS && `BENCH_ROUNDS=${process.env.BENCH_ROUNDS}`,
  ];
  return [
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`${[...settings.filter(Boolean), 'npm run bench'].join(' ')}\`.`,
    `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}; ` +
      `Node ${process.versions.node}; workerd ${workerd} under Miniflare. Load generator (autocannon), origin, ` +
      'and both workerd processes share these cores, so absolute figures are low and noisy; compare the ratios, which are taken side by side.',
  ].join('\n');
}

function fleetSections(overhead: CountingOverhead, fleet: FleetSimulation, countingOps: number): string[] {
  const countingMs = 1000 / countingOps;
  const calls = (c: FleetSimulation['reports']) =>
    `${whole(c.calls)} calls, ${fixed(c.perSecond, 1)}/s, p50 ${fixed(c.p50Ms)} ms, p99 ${fixed(c.p99Ms)} ms, ${c.failed} failed`;
  const sessionError = Math.abs(fleet.estimatedSessions - fleet.distinctSessions) / fleet.distinctSessions;
  return [
    `## Fleet view: what counting costs (${overhead.rounds} rounds of ${overhead.seconds} s, counting on and off loaded side by side, ${overhead.connections} connections each)`,
    table(
      ['goal', 'measured', 'target', ''],
      [
        [
          'steady-state throughput, counting on / counting off (median of per-round ratios)',
          fixed(overhead.ratio, 3),
          '≥ 0.98',
          check(overhead.ratio >= 0.98),
        ],
        [
          'req/s, counting on / off (medians)',
          `${whole(overhead.requestsPerSecondOn)} / ${whole(overhead.requestsPerSecondOff)}`,
          '',
          '',
        ],
        [
          'workerd CPU ms per request, counting on / off',
          `${fixed(overhead.cpuMsPerRequestOn, 3)} / ${fixed(overhead.cpuMsPerRequestOff, 3)}`,
          '',
          '',
        ],
      ],
    ),
    `Per-round ratios: ${overhead.ratios.map((r) => fixed(r, 3)).join(', ')}; ${overhead.failures} failed requests. ` +
      `The machine's noise is larger than the effect: counting one request takes ${fixed(countingMs * 1000, 2)} µs ` +
      `(micro-benchmark below), ${fixed((countingMs / overhead.cpuMsPerRequestOff) * 100, 3)}% of the workerd CPU a ` +
      'steady-state request costs with counting off; its report is one Durable Object call per isolate per 10 s, behind a response.',
    `## Fleet view at ${whole(fleet.isolates)} isolates (simulated against the real objects in workerd, ${fleet.seconds} s)`,
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
