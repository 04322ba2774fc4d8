/**
 * Every origin as an operator wants to see it: the state and weight in force and who set them (the
 * operator's configuration, or the origin's own `Affinity-Control`: effective-origin.ts), health, and
 * the share of new sessions it takes right now. Pure: the status endpoint and page render what this
 * returns.
 */
import type { Config } from '../config/config-schema';
import { effectiveOrigin, type EffectiveOrigin } from '../routing/effective-origin';
import { initialHealth, type HealthState, type OriginHealth } from './health-transition';
import type { ControlsInForce } from '../control/origin-control';

/**
 * One origin as the status shows it: what is in force and who set it (effective-origin.ts), with what
 * the origin said of itself dated in ISO time, and its health.
 */
export interface OriginStatus extends Omit<EffectiveOrigin, 'control'> {
  /** What the origin said of itself and still holds; null when it said nothing that changes anything. */
  control: {
    draining: boolean;
    drainingSince: string | null;
    weightPercent: number;
    weightSince: string | null;
  } | null;
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

export function originStatus(
  config: Config,
  records: Readonly<Record<string, OriginHealth>>,
  controls: ControlsInForce,
): OriginStatus[] {
  const health = (id: string) => records[id] ?? initialHealth();
  const origins = config.origins.map((o) => effectiveOrigin(o, controls[o.id]));
  const takesNew = origins.map((o) => o.state === 'active' && o.weight > 0);
  const up = origins.map((o, i) => takesNew[i]! && health(o.id).state !== 'unhealthy');
  // When health calls every candidate down, routing fails open over all of them: so does the share.
  const eligible = up.some(Boolean) ? up : takesNew;
  const total = origins.reduce((sum, o, i) => sum + (eligible[i] ? o.weight : 0), 0);
  return origins.map((origin, i) => {
    const h = health(origin.id);
    const { control } = origin;
    return {
      id: origin.id,
      url: origin.url,
      state: origin.state,
      weight: origin.weight,
      stateSetBy: origin.stateSetBy,
      weightSetBy: origin.weightSetBy,
      configured: origin.configured,
      control: control && {
        draining: control.draining,
        drainingSince: iso(control.drainingSince),
        weightPercent: control.weightPercent,
        weightSince: iso(control.weightSince),
      },
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
