import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../worker/core/config/config-parse';
import { fleetView, mergeBatch, newFleetWindow } from '../../worker/core/fleet/fleet-window';
import { renderPrometheus } from '../../worker/core/fleet/prometheus-text';
import { TrafficTally } from '../../worker/core/fleet/traffic-counts';
import { histogramSamples, parsePrometheus, sampleValue } from '../support/prometheus-parser';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

function configOf(origins: object[]) {
  const parsed = parseConfig({ origins });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

function fleetWith() {
  const window = newFleetWindow(NOW);
  const tally = new TrafficTally();
  tally.count({ origin: 'app-1', decision: 'new', status: 200, durationMs: 3, failures: [] }, 's1', NOW);
  tally.count({ origin: 'app-1', decision: 'pinned', status: 503, durationMs: 700, failures: [] }, 's1', NOW);
  tally.count(
    {
      origin: 'app-2',
      decision: 'repinned',
      reason: 'connect-failed',
      status: 200,
      durationMs: 12,
      failures: [{ originId: 'app-1', reason: 'connect-failed' }],
      handedOverTo: 'app-1',
    },
    's2',
    NOW,
  );
  tally.count(
    { origin: null, decision: 'new', status: 408, durationMs: 1, failures: [], clientFailure: 'body-timeout' },
    's3',
    NOW,
  );
  mergeBatch(window, tally.drain(), NOW + 1_000);
  return fleetView(window, NOW + 2_000);
}

describe('the Prometheus exposition', () => {
  const config = configOf([
    { id: 'app-1', url: 'http://a', weight: 2 },
    { id: 'app-2', url: 'http://b', state: 'draining' },
  ]);
  const text = renderPrometheus({
    config,
    health: { 'app-1': 'healthy', 'app-2': 'unhealthy' },
    controls: {},
    fleet: fleetWith(),
    monitorUp: true,
    configRead: 'ok',
  });
  const families = parsePrometheus(text);

  it('parses with a real Prometheus text parser, with HELP and TYPE for every family', () => {
    expect(families.length).toBeGreaterThan(10);
    for (const family of families) {
      expect(family.help, family.name).not.toBe('');
      expect(['COUNTER', 'GAUGE', 'HISTOGRAM']).toContain(family.type);
      expect(family.name).toMatch(/^edge_affinity_/);
    }
    const counters = families.filter((f) => f.type === 'COUNTER').map((f) => f.name);
    expect(counters.every((name) => name.endsWith('_total'))).toBe(true);
  });

  it('gives per-origin counters of requests, new sessions, moves by reason, failures by kind and 5xx', () => {
    expect(sampleValue(families, 'edge_affinity_origin_requests_total', { origin: 'app-1' })).toBe(2);
    expect(sampleValue(families, 'edge_affinity_origin_new_sessions_total', { origin: 'app-1' })).toBe(1);
    expect(
      sampleValue(families, 'edge_affinity_origin_moved_sessions_total', { origin: 'app-2', reason: 'connect-failed' }),
    ).toBe(1);
    expect(
      sampleValue(families, 'edge_affinity_origin_moved_sessions_total', { origin: 'app-2', reason: 'unhealthy' }),
    ).toBe(0);
    expect(
      sampleValue(families, 'edge_affinity_origin_moved_sessions_total', { origin: 'app-1', reason: 'repin' }),
    ).toBe(1);
    expect(
      sampleValue(families, 'edge_affinity_origin_moved_sessions_total', { origin: 'app-1', reason: 'replay' }),
    ).toBe(0);
    expect(
      sampleValue(families, 'edge_affinity_origin_failures_total', { origin: 'app-1', kind: 'connect-failed' }),
    ).toBe(1);
    expect(sampleValue(families, 'edge_affinity_origin_http_responses_total', { origin: 'app-1', code: '5xx' })).toBe(
      1,
    );
    expect(sampleValue(families, 'edge_affinity_origin_http_responses_total', { origin: 'app-1', code: '2xx' })).toBe(
      1,
    );
    expect(sampleValue(families, 'edge_affinity_unserved_requests_total', { cause: 'body-timeout' })).toBe(1);
  });

  it('gives a response-time histogram in seconds, cumulative, with sum and count', () => {
    expect(families.find((f) => f.name === 'edge_affinity_origin_response_time_seconds')?.type).toBe('HISTOGRAM');
    const app1 = histogramSamples(text, 'edge_affinity_origin_response_time_seconds', { origin: 'app-1' });
    expect(app1.buckets['0.005']).toBe(1);
    expect(app1.buckets['0.5']).toBe(1);
    expect(app1.buckets['1']).toBe(2);
    expect(app1.buckets['+Inf']).toBe(2);
    expect([app1.count, app1.sum]).toEqual([2, 0.703]);
    const app2 = histogramSamples(text, 'edge_affinity_origin_response_time_seconds', { origin: 'app-2' });
    expect([app2.buckets['0.01'], app2.buckets['0.025'], app2.count]).toEqual([0, 1, 1]);
  });

  it('gives gauges of health, state, weight and active sessions', () => {
    expect(sampleValue(families, 'edge_affinity_origin_up', { origin: 'app-1' })).toBe(1);
    expect(sampleValue(families, 'edge_affinity_origin_up', { origin: 'app-2' })).toBe(0);
    expect(sampleValue(families, 'edge_affinity_origin_check_status', { origin: 'app-2', state: 'unhealthy' })).toBe(1);
    expect(sampleValue(families, 'edge_affinity_origin_check_status', { origin: 'app-2', state: 'healthy' })).toBe(0);
    expect(sampleValue(families, 'edge_affinity_origin_status', { origin: 'app-2', state: 'draining' })).toBe(1);
    expect(sampleValue(families, 'edge_affinity_origin_weight', { origin: 'app-1' })).toBe(2);
    expect(sampleValue(families, 'edge_affinity_origin_current_sessions', { origin: 'app-1' })).toBe(1);
    expect(sampleValue(families, 'edge_affinity_current_sessions')).toBe(2);
  });

  it('shows the state and weight in force when an origin steers itself, beside what the operator configured', () => {
    const steered = parsePrometheus(
      renderPrometheus({
        config,
        health: {},
        controls: {
          'app-1': { draining: true, drainingSince: NOW, weightPercent: 25, weightSince: NOW },
          'app-2': { draining: true, drainingSince: NOW, weightPercent: 100 },
        },
        fleet: null,
        monitorUp: true,
        configRead: 'ok',
      }),
    );
    const value = (name: string, labels: Record<string, string>) => sampleValue(steered, name, labels);
    expect(value('edge_affinity_origin_status', { origin: 'app-1', state: 'draining' })).toBe(1);
    expect(value('edge_affinity_origin_status', { origin: 'app-1', state: 'active' })).toBe(0);
    expect(value('edge_affinity_origin_weight', { origin: 'app-1' })).toBe(2);
    expect(value('edge_affinity_origin_effective_weight', { origin: 'app-1' })).toBe(0.5);
    expect(value('edge_affinity_origin_control_draining', { origin: 'app-1' })).toBe(1);
    expect(value('edge_affinity_origin_control_weight_ratio', { origin: 'app-1' })).toBe(0.25);
    // app-2 is draining by the operator's word: its own drain is recorded, the state is the operator's.
    expect(value('edge_affinity_origin_status', { origin: 'app-2', state: 'draining' })).toBe(1);
    expect(value('edge_affinity_origin_control_weight_ratio', { origin: 'app-2' })).toBe(1);
    expect(sampleValue(families, 'edge_affinity_origin_control_draining', { origin: 'app-1' })).toBe(0);
    expect(sampleValue(families, 'edge_affinity_origin_effective_weight', { origin: 'app-1' })).toBe(2);
  });

  it('still answers the configuration’s gauges when the fleet figures cannot be read', () => {
    const without = parsePrometheus(
      renderPrometheus({ config, health: {}, controls: {}, fleet: null, monitorUp: false, configRead: 'ok' }),
    );
    expect(sampleValue(without, 'edge_affinity_origin_weight', { origin: 'app-2' })).toBe(1);
    expect(sampleValue(without, 'edge_affinity_origin_requests_total', { origin: 'app-2' })).toBe(0);
    expect(sampleValue(without, 'edge_affinity_origin_check_status', { origin: 'app-1', state: 'unknown' })).toBe(1);
    expect(sampleValue(without, 'edge_affinity_health_monitor_up')).toBe(0);
    expect(sampleValue(without, 'edge_affinity_fleet_aggregator_up')).toBe(0);
    expect(sampleValue(families, 'edge_affinity_fleet_aggregator_up')).toBe(1);
  });

  it.each(['ok', 'missing', 'invalid', 'unreadable'] as const)(
    'says what the last read of KV found, one series per state, 1 for %s',
    (configRead) => {
      const read = parsePrometheus(
        renderPrometheus({ config, health: {}, controls: {}, fleet: null, monitorUp: true, configRead }),
      );
      const states = ['ok', 'missing', 'invalid', 'unreadable'].map((state) => [
        state,
        sampleValue(read, 'edge_affinity_config_kv_status', { state }),
      ]);
      expect(Object.fromEntries(states)).toEqual({ ok: 0, missing: 0, invalid: 0, unreadable: 0, [configRead]: 1 });
      expect(read.find((f) => f.name === 'edge_affinity_config_kv_status')?.type).toBe('GAUGE');
    },
  );
});
