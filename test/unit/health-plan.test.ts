import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../worker/core/config/config-parse';
import {
  CONNECTIONS_PER_INVOCATION,
  healthPlan,
  shardCapacity,
  shardCount,
  splitIntoShards,
} from '../../worker/core/health/health-plan';

function planFor(count: number, health: Record<string, number> = {}) {
  const parsed = parseConfig({
    origins: Array.from({ length: count }, (_, i) => ({ id: `o${i}`, url: `http://10.0.${i >> 8}.${i & 255}` })),
    health,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return healthPlan(parsed.config);
}

describe('the health plan', () => {
  it('keeps every shard within one interval even if every probe times out', () => {
    const settings: Record<string, number>[] = [
      {},
      { interval: 1, timeout: 2 },
      { interval: 30, timeout: 5 },
      { interval: 10, timeout: 0.5 },
    ];
    for (const health of settings) {
      const plan = planFor(1000, health);
      const waves = Math.max(1, Math.floor(plan.health.interval / plan.health.timeout));
      for (const shard of splitIntoShards(plan)) {
        const roundSeconds = Math.ceil(shard.length / CONNECTIONS_PER_INVOCATION) * plan.health.timeout;
        expect(roundSeconds, JSON.stringify(health)).toBeLessThanOrEqual(
          Math.max(plan.health.interval, plan.health.timeout),
        );
        expect(Math.ceil(shard.length / CONNECTIONS_PER_INVOCATION)).toBeLessThanOrEqual(waves);
      }
    }
  });

  it('uses one object for a typical deployment and 34 for 1,000 origins at the defaults', () => {
    expect(shardCapacity(planFor(1).health)).toBe(30);
    expect(shardCount(planFor(30))).toBe(1);
    expect(shardCount(planFor(1000))).toBe(34);
  });

  it('probes every origin exactly once, in even shards', () => {
    const shards = splitIntoShards(planFor(1000));
    const ids = shards.flat().map((o) => o.id);
    expect(new Set(ids).size).toBe(1000);
    expect(Math.max(...shards.map((s) => s.length)) - Math.min(...shards.map((s) => s.length))).toBeLessThanOrEqual(1);
  });

  it('changes its key when origins or health settings change, and only then', () => {
    expect(planFor(3).key).toBe(planFor(3).key);
    expect(planFor(3).key).not.toBe(planFor(4).key);
    expect(planFor(3).key).not.toBe(planFor(3, { interval: 5 }).key);
  });
});
