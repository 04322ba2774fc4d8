/**
 * The files operators copy (docs/prometheus.yml, docs/alert-rules.yml, docs/grafana-dashboard.json):
 * checked by Prometheus's own promtool (configuration, rules, the rules' unit tests in
 * docs/alert-rules.test.yml, and every dashboard expression), and held to the worker's exposition:
 * each metric they name is one GET /_affinity/metrics exports.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as yamlText } from 'yaml';
import { parseConfig } from '../../worker/core/config/config-parse';
import { fleetView, mergeBatch, newFleetWindow } from '../../worker/core/fleet/fleet-window';
import { renderPrometheus } from '../../worker/core/fleet/prometheus-text';
import { TrafficTally } from '../../worker/core/fleet/traffic-counts';
import { parsePrometheus } from '../support/prometheus-parser';
import { asPromQL, metricNamesOf } from '../support/promql-names';

const ROOT = resolve(import.meta.dirname, '../..');
const DOCS = join(ROOT, 'docs');
const read = (file: string) => readFileSync(join(DOCS, file), 'utf8');

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}
interface RuleTests {
  rule_files: string[];
  tests: { input_series: { series: string }[]; alert_rule_test: { alertname: string }[] }[];
}

const rules = parseYaml(read('alert-rules.yml')) as RuleFile;
const ruleTests = parseYaml(read('alert-rules.test.yml')) as RuleTests;
const dashboard = JSON.parse(read('grafana-dashboard.json')) as unknown;
const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert);

/** Every PromQL expression of the dashboard: its panels' queries, and the selector of `label_values(…)`. */
function dashboardExpressions(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(dashboardExpressions);
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([key, value]) => {
    if (key === 'expr' && typeof value === 'string') return [value];
    if (key === 'query' && typeof value === 'string') {
      const labelValues = /^label_values\((.+),\s*\w+\)$/.exec(value.trim());
      return labelValues ? [labelValues[1]!] : [];
    }
    return dashboardExpressions(value);
  });
}

/**
 * The series names of a real exposition: the worker's renderer fed a configuration, health and fleet
 * counts (a request served, one moved, one unserved), parsed by a real Prometheus text parser. A
 * histogram's series are its `_bucket`, `_sum` and `_count`.
 */
function exportedSeriesNames(): Set<string> {
  const now = Date.UTC(2026, 10, 25, 12, 0, 0);
  const parsed = parseConfig({
    origins: [
      { id: 'app-1', url: 'http://a' },
      { id: 'app-2', url: 'http://b' },
    ],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const window = newFleetWindow(now);
  const tally = new TrafficTally();
  tally.count({ origin: 'app-1', decision: 'new', status: 200, durationMs: 3, failures: [] }, 's1', now);
  tally.count(
    {
      origin: 'app-2',
      decision: 'repinned',
      reason: 'connect-failed',
      status: 200,
      durationMs: 12,
      failures: [{ originId: 'app-1', reason: 'connect-failed' }],
    },
    's2',
    now,
  );
  tally.count(
    { origin: null, decision: 'new', status: 408, durationMs: 1, failures: [], clientFailure: 'body-timeout' },
    's3',
    now,
  );
  mergeBatch(window, tally.drain(), now + 1_000);
  const text = renderPrometheus({
    config: parsed.config,
    health: { 'app-1': 'healthy', 'app-2': 'unhealthy' },
    controls: {},
    fleet: fleetView(window, now + 2_000),
    monitorUp: true,
    configRead: 'ok',
  });
  return new Set(
    parsePrometheus(text)
      .filter((family) => family.metrics.length > 0)
      .flatMap((f) => (f.type === 'HISTOGRAM' ? ['_bucket', '_sum', '_count'].map((s) => f.name + s) : [f.name])),
  );
}

describe('the metric names operators’ files use', () => {
  const exported = exportedSeriesNames();
  const namesIn = (exprs: string[]) => [...new Set(exprs.flatMap(metricNamesOf))].sort();

  it('reads names from PromQL, not from what merely looks like one', () => {
    const expr =
      'histogram_quantile(0.95, sum by (origin, le) (rate(a_bucket{job=~"$job"}[$__rate_interval]))) / on (origin) group_left b';
    expect(namesIn([expr])).toEqual(['a_bucket', 'b']);
    expect(() => metricNamesOf('sum by (origin) (rate(a[5m])')).toThrow(/not PromQL/);
  });

  /** Every metric name in `used` is one the worker exports. */
  const expectAllExported = (used: string[]) =>
    expect(
      used.filter((name) => !exported.has(name)),
      'not exported',
    ).toEqual([]);

  it('are all exported, in every alerting rule', () => {
    const used = namesIn(rules.groups.flatMap((g) => g.rules.map((r) => r.expr)));
    expectAllExported(used);
    expect(used).toEqual(
      expect.arrayContaining([
        'edge_affinity_origin_check_status',
        'edge_affinity_origin_status',
        'edge_affinity_origin_moved_sessions_total',
        'edge_affinity_origin_failures_total',
        'edge_affinity_config_kv_status',
      ]),
    );
  });

  it('are all exported, in the series the rules’ unit tests feed them', () => {
    const used = namesIn(ruleTests.tests.flatMap((t) => t.input_series.map((s) => s.series)));
    expectAllExported(used);
  });

  it('are all exported, in every query of the Grafana dashboard', () => {
    const exprs = dashboardExpressions(dashboard);
    expect(exprs.length).toBeGreaterThan(10);
    const used = namesIn(exprs);
    expectAllExported(used);
    // Requests/s, error rate, p95, active sessions, moves by reason, failures by kind, health and state.
    expect(used).toEqual(
      expect.arrayContaining([
        'edge_affinity_origin_requests_total',
        'edge_affinity_origin_http_responses_total',
        'edge_affinity_origin_response_time_seconds_bucket',
        'edge_affinity_origin_current_sessions',
        'edge_affinity_origin_moved_sessions_total',
        'edge_affinity_origin_failures_total',
        'edge_affinity_origin_check_status',
        'edge_affinity_origin_status',
      ]),
    );
  });

  it('leave no alert untested: every alert is evaluated by docs/alert-rules.test.yml', () => {
    const tested = new Set(ruleTests.tests.flatMap((t) => t.alert_rule_test.map((a) => a.alertname)));
    expect(alerts.map((a) => a.alert).filter((name) => !tested.has(name!))).toEqual([]);
    expect(ruleTests.rule_files).toEqual(['alert-rules.yml']);
  });
});

/** Debian's `prometheus` package has promtool (.ci/run installs it). */
const PROMTOOL = spawnSync('promtool', ['--version']).status === 0;
const PROMTOOL_MISSING = 'promtool is not installed; `apt-get install prometheus` has it, as .ci/run does';
if (!PROMTOOL) console.warn(`SKIPPED: the promtool checks of docs/*.yml and the dashboard: ${PROMTOOL_MISSING}`);
const promtoolSuite = PROMTOOL ? 'checked by promtool' : `checked by promtool (SKIPPED: ${PROMTOOL_MISSING})`;

describe.skipIf(!PROMTOOL)(promtoolSuite, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'edge-affinity-promtool-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  function promtool(...args: string[]) {
    const run = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  }

  it('accepts the scrape configuration (its syntax: the token file lives on the Prometheus host)', () => {
    const { status, output } = promtool('check', 'config', '--syntax-only', 'docs/prometheus.yml');
    expect(status, output).toBe(0);
    const config = parseYaml(read('prometheus.yml')) as { rule_files: string[] };
    expect(config.rule_files).toEqual(['alert-rules.yml']);
  });

  it('accepts the alerting rules', () => {
    const { status, output } = promtool('check', 'rules', 'docs/alert-rules.yml');
    expect(status, output).toBe(0);
    expect(output).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it('passes the rules’ unit tests: every alert fires on its series, and not below its threshold', () => {
    const { status, output } = promtool('test', 'rules', 'docs/alert-rules.test.yml');
    expect(status, output).toBe(0);
  });

  it('parses every dashboard expression with Prometheus’s own parser', () => {
    const exprs = dashboardExpressions(dashboard).map(asPromQL);
    const file = join(scratch, 'dashboard-expressions.yml');
    const record = exprs.map((expr, i) => ({ record: `dashboard:expression_${i}`, expr }));
    writeFileSync(file, yamlText({ groups: [{ name: 'dashboard', rules: record }] }));
    const { status, output } = promtool('check', 'rules', file);
    expect(status, output).toBe(0);
  });
});
