import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../worker/core/config/config-parse';
import { originStatus } from '../../worker/core/health/origin-status';

function config(origins: object[]) {
  const parsed = parseConfig({ origins });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

describe('originStatus', () => {
  const four = config([
    { id: 'a', url: 'http://a', weight: 1 },
    { id: 'b', url: 'http://b', weight: 3 },
    { id: 'c', url: 'http://c', state: 'draining' },
    { id: 'd', url: 'http://d', weight: 0 },
  ]);

  it('lists every origin with its configuration, health and share of new sessions', () => {
    const rows = originStatus(
      four,
      {
        a: { state: 'healthy', successes: 3, failures: 0, lastProbeAt: 0, latencyMs: 12, changedAt: 0 },
        b: { state: 'unhealthy', successes: 0, failures: 2, lastProbeAt: 1000, lastError: 'HTTP 503', changedAt: 1000 },
      },
      {},
    );
    expect(rows).toEqual([
      {
        id: 'a',
        url: 'http://a',
        state: 'active',
        weight: 1,
        stateSetBy: 'operator',
        weightSetBy: 'operator',
        configured: { state: 'active', weight: 1 },
        control: null,
        health: 'healthy',
        lastProbe: '1970-01-01T00:00:00.000Z',
        latencyMs: 12,
        lastError: null,
        healthSince: '1970-01-01T00:00:00.000Z',
        newSessionShare: 1,
      },
      {
        id: 'b',
        url: 'http://b',
        state: 'active',
        weight: 3,
        stateSetBy: 'operator',
        weightSetBy: 'operator',
        configured: { state: 'active', weight: 3 },
        control: null,
        health: 'unhealthy',
        lastProbe: '1970-01-01T00:00:01.000Z',
        latencyMs: null,
        lastError: 'HTTP 503',
        healthSince: '1970-01-01T00:00:01.000Z',
        newSessionShare: 0,
      },
      {
        id: 'c',
        url: 'http://c',
        state: 'draining',
        weight: 1,
        stateSetBy: 'operator',
        weightSetBy: 'operator',
        configured: { state: 'draining', weight: 1 },
        control: null,
        health: 'unknown',
        lastProbe: null,
        latencyMs: null,
        lastError: null,
        healthSince: null,
        newSessionShare: 0,
      },
      {
        id: 'd',
        url: 'http://d',
        state: 'active',
        weight: 0,
        stateSetBy: 'operator',
        weightSetBy: 'operator',
        configured: { state: 'active', weight: 0 },
        control: null,
        health: 'unknown',
        lastProbe: null,
        latencyMs: null,
        lastError: null,
        healthSince: null,
        newSessionShare: 0,
      },
    ]);
  });

  it('shares new sessions by weight among the origins that take them', () => {
    expect(originStatus(four, {}, {}).map((r) => r.newSessionShare)).toEqual([0.25, 0.75, 0, 0]);
  });

  it('shows the fail-open shares when health calls every candidate down', () => {
    const down = { state: 'unhealthy' as const, successes: 0, failures: 2 };
    expect(originStatus(four, { a: down, b: down }, {}).map((r) => r.newSessionShare)).toEqual([0.25, 0.75, 0, 0]);
  });

  it('shows an origin that drains itself as draining, said by the origin, and gives it no share', () => {
    const since = Date.UTC(2026, 10, 25, 12, 0, 0);
    const rows = originStatus(four, {}, { a: { draining: true, drainingSince: since, weightPercent: 100 } });
    expect(rows[0]).toMatchObject({
      state: 'draining',
      stateSetBy: 'origin',
      weight: 1,
      weightSetBy: 'operator',
      configured: { state: 'active', weight: 1 },
      control: { draining: true, drainingSince: '2026-11-25T12:00:00.000Z', weightPercent: 100, weightSince: null },
      newSessionShare: 0,
    });
    expect(rows.map((r) => r.newSessionShare)).toEqual([0, 1, 0, 0]);
  });

  it('shares new sessions by the weight in force: the configured weight times the origin’s percentage', () => {
    const rows = originStatus(four, {}, { b: { draining: false, weightPercent: 33, weightSince: 0 } });
    expect(rows[1]).toMatchObject({ weight: 0.99, weightSetBy: 'origin', configured: { weight: 3 } });
    expect(rows[1]!.control).toEqual({
      draining: false,
      drainingSince: null,
      weightPercent: 33,
      weightSince: '1970-01-01T00:00:00.000Z',
    });
    expect(rows.map((r) => r.newSessionShare)).toEqual([1 / 1.99, 0.99 / 1.99, 0, 0]);
  });

  it('keeps the operator’s draining and weight 0 whatever the origin says', () => {
    const rows = originStatus(
      four,
      {},
      {
        c: { draining: false, weightPercent: 100 },
        d: { draining: false, weightPercent: 50, weightSince: 0 },
      },
    );
    expect(rows[2]).toMatchObject({ state: 'draining', stateSetBy: 'operator' });
    expect(rows[3]).toMatchObject({ weight: 0, weightSetBy: 'operator', newSessionShare: 0 });
  });
});
