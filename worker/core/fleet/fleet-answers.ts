/**
 * What the fleet aggregator answers each admin route: only what that route shows, so that a status
 * page refreshing every 5 s or a drain script polling every few seconds does not carry every bucket
 * of every origin across the call. Pure: the aggregator's view in, one answer out.
 *
 * - the status page: each configured origin's figures (rates, quantiles, the chart's 90 points);
 * - one origin's endpoint: its figures without the chart, and what "drained" is judged from;
 * - the metrics: the totals (the aggregator passes the stored ones) and active sessions.
 */
import type { DrainFacts } from '../health/drain-rule';
import { originFigures, withoutSeries, type LiveFigures, type OriginFigures } from './fleet-figures';
import type { FleetTotals, FleetView } from './fleet-window';

export interface FleetStatus {
  takenAt: number;
  watchingSince: number;
  /** Distinct sessions in the last 5 minutes over every origin. */
  activeSessionsTotal: number;
  /** The figures of the origins asked for, and only those. */
  origins: Record<string, OriginFigures>;
}

export interface OriginFleetFacts extends DrainFacts {
  figures: LiveFigures;
}

export interface FleetMetrics {
  totals: FleetTotals;
  activeSessions: Record<string, number>;
  activeSessionsTotal: number;
}

export function fleetStatus(view: FleetView, ids: readonly string[]): FleetStatus {
  const { takenAt, watchingSince, activeSessionsTotal } = view;
  return { takenAt, watchingSince, activeSessionsTotal, origins: originFigures(view, ids) };
}

export function originFleetFacts(view: FleetView, id: string): OriginFleetFacts {
  const { takenAt, watchingSince } = view;
  const lastRequestAt = view.totals.origins[id]?.lastRequestAt ?? 0;
  return { takenAt, watchingSince, lastRequestAt, figures: withoutSeries(originFigures(view, [id])[id]!) };
}

/** The metrics' figures, with the totals given (the stored ones: see fleet-aggregator.ts). */
export function fleetMetrics(view: FleetView, totals: FleetTotals): FleetMetrics {
  return { totals, activeSessions: view.activeSessions, activeSessionsTotal: view.activeSessionsTotal };
}
