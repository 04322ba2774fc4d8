/**
 * The overload cascade, simulated in the pure core (worker/core/overload-simulation.ts: the worker's
 * own placement, no network): each scenario of CASCADE_SCENARIOS without a balance factor and with
 * `balanceFactor: 1.25`, over several seeds, beside the ideal. Part of `npm run bench`; on its own,
 * in a few seconds: `npm run bench:overload`.
 */
import { pathToFileURL } from 'node:url';
import { CASCADE_SCENARIOS, seededRandom, type OverloadOutcome } from './overload/overload-scenario';
import { simulateOverload } from './overload/overload-simulation';
import { median } from './stats';

export const SEEDS = [1, 2, 3, 4, 5];
export const BALANCE_FACTOR = 1.25;

export interface CascadeRow {
  scenario: string;
  variant: 'without a balance factor' | `balanceFactor ${number}`;
  /** Medians over the seeds, with the range. */
  failures: Spread;
  failedOrigins: Spread;
  moved: Spread;
  unavoidableMoves: Spread;
  newSessionMaxOverMean: Spread;
  loadMaxOverMean: Spread;
  overloadedRequests: Spread;
  /** Per minute after the slowdown: the slowed origin's median share of new sessions. */
  slowedSharePerMinute: number[];
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function runOverloadCascade(): CascadeRow[] {
  return Object.entries(CASCADE_SCENARIOS).flatMap(([name, scenario]) =>
    [undefined, BALANCE_FACTOR].map((balanceFactor) => {
      const runs = SEEDS.map((seed) => simulateOverload({ ...scenario, balanceFactor }, seededRandom(seed)));
      return summarise(name, balanceFactor, runs);
    }),
  );
}

function summarise(scenario: string, factor: number | undefined, runs: OverloadOutcome[]): CascadeRow {
  const spread = (key: keyof OverloadOutcome): Spread => {
    const values = runs.map((run) => run[key] as number);
    return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
  };
  const minutes = runs[0]!.slowedSharePerMinute.length;
  return {
    scenario,
    variant: factor === undefined ? 'without a balance factor' : `balanceFactor ${factor}`,
    failures: spread('failures'),
    failedOrigins: spread('failedOrigins'),
    moved: spread('moved'),
    unavoidableMoves: spread('unavoidableMoves'),
    newSessionMaxOverMean: spread('newSessionMaxOverMean'),
    loadMaxOverMean: spread('loadMaxOverMean'),
    overloadedRequests: spread('overloadedRequests'),
    slowedSharePerMinute: Array.from({ length: minutes }, (_, m) =>
      median(runs.map((run) => run.slowedSharePerMinute[m] ?? 0)),
    ),
  };
}

/** The table, as `npm run bench` writes it into BENCHMARKS.md (and prints on its own): each scenario, then its ideal. */
export function cascadeTable(rows: CascadeRow[]): string {
  const range = (s: Spread, digits = 0) =>
    s.min === s.max
      ? s.median.toFixed(digits)
      : `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
  const header = [
    'scenario',
    'placement',
    'origins that failed',
    'probe failures',
    'sessions moved',
    'sessions the slowed origin held when it slowed',
    'new sessions max/mean',
    'load max/mean',
    'requests to overloaded origins',
    "slowed origin's share of new sessions, minute by minute after",
  ];
  const measured = (row: CascadeRow) => [
    row.scenario,
    row.variant,
    range(row.failedOrigins),
    range(row.failures),
    range(row.moved),
    range(row.unavoidableMoves),
    range(row.newSessionMaxOverMean, 2),
    range(row.loadMaxOverMean, 2),
    range(row.overloadedRequests),
    row.slowedSharePerMinute.map((share) => `${Math.round(share * 100)}%`).join(' '),
  ];
  const ideal = (name: string) => [
    name,
    '**ideal**',
    '1',
    '1',
    'only those the slowed origin held, once',
    '',
    '1.00',
    '1.00',
    "the slowed origin's, until called down",
    'what it can carry: 1%',
  ];
  const scenarios = [...new Set(rows.map((row) => row.scenario))];
  const lines = scenarios.flatMap((name) => {
    const of = rows.filter((row) => row.scenario === name);
    return [...of.map(measured), ideal(name)];
  });
  return [header, header.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = performance.now();
  const rows = runOverloadCascade();
  console.log(cascadeTable(rows));
  console.log(
    `\n${SEEDS.length} seeds per row, medians (range); ${((performance.now() - started) / 1000).toFixed(1)} s.`,
  );
}
