/**
 * Two Workers compared side by side: both loaded at the same time, each by its own load generator, so
 * that whatever the shared machine does during a round it does to both, and the ratio of their
 * throughputs within the round holds where absolute figures drift by a third from one minute to the
 * next. A run is several such rounds (the median ratio of its rounds); the whole comparison is several
 * runs, reported as the median of the runs and their spread, so that a difference can be told apart
 * from the noise: a 5% difference is visible when the spread of the runs is narrower than that.
 *
 * Each Worker's workerd CPU per request is read from /proc around every round: that is what Workers
 * bills, and what the load generator's own cost does not blur.
 */
import { runLoad } from './load';
import { cpuMs } from './process-cpu';
import { median } from './stats';

export interface Side {
  name: string;
  url: string;
  /** The workerd process that serves it, for its CPU. */
  workerd?: number;
  /** Cookies of open sessions (the steady state); none: every request a new session. */
  cookies?: string[];
}

export interface ComparisonPlan {
  runs: number;
  rounds: number;
  seconds: number;
  connections: number;
}

/** The plan of `npm run bench` and `bench:ab`: 3 runs of 4 rounds of 4 s at 16 connections, or as BENCH_* say. */
export function comparisonPlanFromEnv(): ComparisonPlan {
  return {
    runs: Number(process.env.BENCH_RUNS ?? 3),
    rounds: Number(process.env.BENCH_ROUNDS ?? 4),
    seconds: Number(process.env.BENCH_SECONDS ?? 4),
    connections: 16,
  };
}

export interface RunResult {
  /** Median over rounds of subject req/s ÷ base req/s. */
  ratio: number;
  /** Median over rounds of subject p99 − base p99, ms. */
  p99Added: number;
  baseRequestsPerSecond: number;
  subjectRequestsPerSecond: number;
  baseCpuMsPerRequest: number;
  subjectCpuMsPerRequest: number;
  baseP99: number;
  subjectP99: number;
  failures: number;
}

export interface Comparison {
  base: string;
  subject: string;
  plan: ComparisonPlan;
  runs: RunResult[];
  /** Medians over runs, and the spread of the run medians. */
  ratio: Spread;
  p99Added: Spread;
  cpuMsAdded: Spread;
  baseCpuMsPerRequest: number;
  subjectCpuMsPerRequest: number;
  baseRequestsPerSecond: number;
  subjectRequestsPerSecond: number;
  failures: number;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export async function compareSideBySide(base: Side, subject: Side, plan: ComparisonPlan): Promise<Comparison> {
  const warmUp = { connections: plan.connections, seconds: 1 };
  await Promise.all([base, subject].map((side) => runLoad(side.url, { ...warmUp, cookies: side.cookies })));
  const runs: RunResult[] = [];
  for (let run = 0; run < plan.runs; run++) {
    runs.push(await oneRun(base, subject, plan));
    const last = runs.at(-1)!;
    console.log(
      `  ${subject.name} / ${base.name}, run ${run + 1}: ${last.ratio.toFixed(3)}× ` +
        `(${Math.round(last.subjectRequestsPerSecond)} / ${Math.round(last.baseRequestsPerSecond)} req/s)`,
    );
  }
  const across = (pick: (r: RunResult) => number) => spread(runs.map(pick));
  return {
    base: base.name,
    subject: subject.name,
    plan,
    runs,
    ratio: across((r) => r.ratio),
    p99Added: across((r) => r.p99Added),
    cpuMsAdded: across((r) => r.subjectCpuMsPerRequest - r.baseCpuMsPerRequest),
    baseCpuMsPerRequest: median(runs.map((r) => r.baseCpuMsPerRequest)),
    subjectCpuMsPerRequest: median(runs.map((r) => r.subjectCpuMsPerRequest)),
    baseRequestsPerSecond: median(runs.map((r) => r.baseRequestsPerSecond)),
    subjectRequestsPerSecond: median(runs.map((r) => r.subjectRequestsPerSecond)),
    failures: runs.reduce((sum, r) => sum + r.failures, 0),
  };
}

async function oneRun(base: Side, subject: Side, plan: ComparisonPlan): Promise<RunResult> {
  const rounds: { base: Measured; subject: Measured }[] = [];
  for (let round = 0; round < plan.rounds; round++) {
    const [b, s] = await Promise.all([measure(base, plan), measure(subject, plan)]);
    rounds.push({ base: b!, subject: s! });
  }
  const total = (pick: (r: (typeof rounds)[number]) => Measured) => ({
    cpu: rounds.reduce((sum, r) => sum + pick(r).cpuMs, 0),
    requests: rounds.reduce((sum, r) => sum + pick(r).requests, 0),
  });
  const b = total((r) => r.base);
  const s = total((r) => r.subject);
  return {
    ratio: median(rounds.map((r) => r.subject.requestsPerSecond / r.base.requestsPerSecond)),
    p99Added: median(rounds.map((r) => r.subject.p99 - r.base.p99)),
    baseRequestsPerSecond: median(rounds.map((r) => r.base.requestsPerSecond)),
    subjectRequestsPerSecond: median(rounds.map((r) => r.subject.requestsPerSecond)),
    baseCpuMsPerRequest: b.cpu / b.requests,
    subjectCpuMsPerRequest: s.cpu / s.requests,
    baseP99: median(rounds.map((r) => r.base.p99)),
    subjectP99: median(rounds.map((r) => r.subject.p99)),
    failures: rounds.reduce((sum, r) => sum + r.base.failures + r.subject.failures, 0),
  };
}

interface Measured {
  requestsPerSecond: number;
  requests: number;
  failures: number;
  p99: number;
  cpuMs: number;
}

async function measure(side: Side, plan: ComparisonPlan): Promise<Measured> {
  const before = cpuMs(side.workerd);
  const load = await runLoad(side.url, { connections: plan.connections, seconds: plan.seconds, cookies: side.cookies });
  return { ...load, cpuMs: cpuMs(side.workerd) - before };
}

function spread(values: number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}
