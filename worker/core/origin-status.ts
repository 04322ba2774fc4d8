/**
 * Every origin as an operator wants to see it: configuration, health, and the share of new sessions
 * it takes right now. Pure: the status endpoint and page render what this returns.
 */
import type { Config, OriginState } from './config-schema';
import { initialHealth, type HealthState, type OriginHealth } from './health-transition';

export interface OriginStatus {
  id: string;
  url: string;
  state: OriginState;
  weight: number;
  health: HealthState;
  /** ISO time of the last probe, null before the first. */
  lastProbe: string | null;
  /** Milliseconds the last successful probe took. */
  latencyMs: number | null;
  lastError: string | null;
  /** ISO time of the last change of health state. */
  healthSince: string | null;
  /** Fraction (0..1) of new sessions this origin takes with health as it is now. */
  newSessionShare: number;
}

export function originStatus(config: Config, records: Readonly<Record<string, OriginHealth>>): OriginStatus[] {
  const health = (id: string) => records[id] ?? initialHealth();
  const takesNew = config.origins.map((o) => o.state === 'active' && o.weight > 0);
  const up = config.origins.map((o, i) => takesNew[i]! && health(o.id).state !== 'unhealthy');
  // When health calls every candidate down, routing fails open over all of them: so does the share.
  const eligible = up.some(Boolean) ? up : takesNew;
  const total = config.origins.reduce((sum, o, i) => sum + (eligible[i] ? o.weight : 0), 0);
  return config.origins.map((origin, i) => {
    const h = health(origin.id);
    return {
      id: origin.id,
      url: origin.url,
      state: origin.state,
      weight: origin.weight,
      health: h.state,
      lastProbe: iso(h.lastProbeAt),
      latencyMs: h.latencyMs ?? null,
      lastError: h.lastError ?? null,
      healthSince: iso(h.changedAt),
      newSessionShare: total > 0 && eligible[i] ? origin.weight / total : 0,
    };
  });
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
