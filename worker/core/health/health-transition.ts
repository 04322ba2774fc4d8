/**
 * Health state transitions: `rise` consecutive successes make an origin healthy, `fall` consecutive
 * failures make it unhealthy, and nothing in between changes its state. That hysteresis is what keeps
 * an origin that answers every other probe from flapping in and out of rotation.
 *
 * Failures come from probes and from the passive reports of isolates whose connections failed; only
 * probes bring an origin back, because a request that happened to succeed proves less than a probe.
 */

export const HEALTH_STATES = ['healthy', 'unhealthy', 'unknown'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

export interface OriginHealth {
  state: HealthState;
  /** Consecutive successful probes. */
  successes: number;
  /** Consecutive failures, probes and passive reports together. */
  failures: number;
  /** Unix ms of the last probe, if any. */
  lastProbeAt?: number;
  /** Milliseconds the last successful probe took. */
  latencyMs?: number;
  /** Why the last probe or report failed. */
  lastError?: string;
  /** Unix ms of the last change of state. */
  changedAt?: number;
  /**
   * Unix ms of the last return from unhealthy to healthy: the origin was down (crashed, restarted), so
   * what it said of itself before (core/control/origin-control.ts) was said by a process that is gone.
   */
  recoveredAt?: number;
}

export interface Thresholds {
  rise: number;
  fall: number;
}

export type ProbeOutcome =
  { ok: true; at: number; latencyMs: number } | { ok: false; at: number; error: string; latencyMs?: number };

/** Origins start unknown, which routing treats as healthy until the probes say otherwise. */
export function initialHealth(): OriginHealth {
  return { state: 'unknown', successes: 0, failures: 0 };
}

export function applyProbe(health: OriginHealth, probe: ProbeOutcome, thresholds: Thresholds): OriginHealth {
  const probed = { ...health, lastProbeAt: probe.at };
  if (probe.ok) {
    const next = { ...probed, successes: health.successes + 1, failures: 0, latencyMs: probe.latencyMs };
    return next.successes >= thresholds.rise ? settle(next, 'healthy', probe.at) : next;
  }
  return fail(probed, 1, probe.error, probe.at, thresholds);
}

/** Failures seen by isolates: they count like failed probes, so enough of them act at once. */
export function applyPassiveFailures(
  health: OriginHealth,
  count: number,
  error: string,
  at: number,
  thresholds: Thresholds,
): OriginHealth {
  return count > 0 ? fail(health, count, error, at, thresholds) : health;
}

function fail(health: OriginHealth, count: number, error: string, at: number, thresholds: Thresholds): OriginHealth {
  const next = { ...health, successes: 0, failures: health.failures + count, lastError: error };
  return next.failures >= thresholds.fall ? settle(next, 'unhealthy', at) : next;
}

function settle(health: OriginHealth, state: HealthState, at: number): OriginHealth {
  if (health.state === state) return health;
  const recovered = health.state === 'unhealthy' && state === 'healthy';
  return { ...health, state, changedAt: at, ...(recovered ? { recoveredAt: at } : {}) };
}
