/**
 * What the health monitor probes, and how the probing is split between Durable Objects.
 *
 * A Worker invocation keeps at most six connections open at once, so one object probing every
 * origin would need `origins / 6` waves of `timeout` seconds per round: 1,000 origins that all time
 * out at 2 s would take 334 s against a 10 s interval. Each object therefore probes a shard small
 * enough to finish within one interval even when every probe times out: six origins per wave, as many
 * waves as fit in the interval (at least one).
 */
import type { Config, HealthConfig } from '../config/config-schema';
import { murmur3 } from '../routing/hash';

/** Connections one Worker invocation may hold open at once. */
export const CONNECTIONS_PER_INVOCATION = 6;

export interface ProbeTarget {
  id: string;
  /** The origin URL in the configuration's normal form (origin-url.ts): the probe path is appended to it as it is. */
  url: string;
}

export interface HealthPlan {
  /** Identifies the plan, so that isolates can tell whether the monitor probes their configuration. */
  key: string;
  health: HealthConfig;
  origins: ProbeTarget[];
}

/** Every configured origin is probed, disabled ones included, so the status shows them before they return. */
export function healthPlan(config: Config): HealthPlan {
  const origins = config.origins.map(({ id, url }) => ({ id, url }));
  return { key: planKey(config.health, origins), health: config.health, origins };
}

function planKey(health: HealthConfig, origins: ProbeTarget[]): string {
  const text = JSON.stringify([health, origins]);
  const hex = (seed: number) => murmur3(text, seed).toString(16).padStart(8, '0');
  return hex(0x11) + hex(0x22);
}

/** Origins one object can probe within an interval when every probe times out. */
export function shardCapacity(health: HealthConfig): number {
  return CONNECTIONS_PER_INVOCATION * Math.max(1, Math.floor(health.interval / health.timeout));
}

export function shardCount(plan: HealthPlan): number {
  return Math.max(1, Math.ceil(plan.origins.length / shardCapacity(plan.health)));
}

/**
 * Origins are dealt out in configuration order, so shards stay even; the assignment travels with
 * each shard's orders, so nothing else has to agree on it.
 */
export function splitIntoShards(plan: HealthPlan): ProbeTarget[][] {
  const shards = Array.from({ length: shardCount(plan) }, (): ProbeTarget[] => []);
  plan.origins.forEach((origin, index) => shards[index % shards.length]!.push(origin));
  return shards;
}
