/**
 * What origins have said about themselves with `drain`, `ready` and `weight=<n>%` (the
 * `Affinity-Control` header), as the health coordinator keeps it for the whole fleet. Pure.
 *
 * - Isolates report what they heard behind their responses, so reports arrive late and out of order.
 *   Each word keeps when the origin said it (`saidAt`: when an isolate received the response), and a
 *   report of something said earlier changes nothing: the origin's latest word wins, wherever heard.
 * - `since` is when the origin began draining, or took its present weight: saying it again does not
 *   move it (an origin may say `drain` on every response while it shuts down).
 * - An origin's word holds until it says otherwise, except when
 *   - the probes have seen it unhealthy and healthy again since it spoke (`recoveredAt`): it crashed
 *     or restarted, the process that spoke is gone, and its successor has said nothing yet;
 *   - the operator has since changed that origin's state or weight, or removed it: the operator's
 *     newer word replaces the origin's (controlsAfterConfigChange).
 */
import type { Config } from '../config/config-schema';

export interface DrainControl {
  draining: boolean;
  /** When the origin began draining (or became ready again). */
  since: number;
  saidAt: number;
}

export interface WeightControl {
  /** Percentage of the configured weight, 0 to 100. */
  percent: number;
  since: number;
  saidAt: number;
}

export interface OriginControl {
  drain?: DrainControl;
  weight?: WeightControl;
}

/** Per origin id. */
export type OriginControls = Record<string, OriginControl>;

/** What one isolate heard an origin say, and when. */
export interface ControlReport {
  originId: string;
  drain?: boolean;
  weightPercent?: number;
  at: number;
}

/** An origin's word in force: what routing, the status and the metrics read, and every snapshot carries. */
export interface ControlInForce {
  draining: boolean;
  /** While draining: since when. */
  drainingSince?: number;
  /** 100 when the origin has said nothing of its weight. */
  weightPercent: number;
  /** While below 100%: since when. */
  weightSince?: number;
}

/** Per origin id; only origins whose word changes something (draining, or a weight below 100%). */
export type ControlsInForce = Record<string, ControlInForce>;

/** When the probes last saw each origin become healthy again after being unhealthy. */
export type RecoveredAt = (originId: string) => number | undefined;

/** The origin's words that still hold after its last recovery. */
function stillHeld(control: OriginControl | undefined, recoveredAt: number | undefined): OriginControl {
  const held = (word: { saidAt: number } | undefined) =>
    word && (recoveredAt === undefined || word.saidAt > recoveredAt);
  return {
    ...(held(control?.drain) ? { drain: control!.drain } : {}),
    ...(held(control?.weight) ? { weight: control!.weight } : {}),
  };
}

export function applyControlReport(
  control: OriginControl | undefined,
  report: ControlReport,
  recoveredAt: number | undefined,
): OriginControl {
  const next = stillHeld(control, recoveredAt);
  const newer = (word: { saidAt: number } | undefined) =>
    (recoveredAt === undefined || report.at > recoveredAt) && (!word || report.at >= word.saidAt);
  if (report.drain !== undefined && newer(next.drain)) {
    const since = next.drain?.draining === report.drain ? next.drain.since : report.at;
    next.drain = { draining: report.drain, since, saidAt: report.at };
  }
  if (report.weightPercent !== undefined && newer(next.weight)) {
    const since = next.weight?.percent === report.weightPercent ? next.weight.since : report.at;
    next.weight = { percent: report.weightPercent, since, saidAt: report.at };
  }
  return next;
}

export function controlsInForce(controls: OriginControls, recoveredAt: RecoveredAt): ControlsInForce {
  const inForce: ControlsInForce = {};
  for (const [id, control] of Object.entries(controls)) {
    const { drain, weight } = stillHeld(control, recoveredAt(id));
    const draining = drain?.draining === true;
    const weightPercent = weight?.percent ?? 100;
    if (!draining && weightPercent === 100) continue;
    inForce[id] = {
      draining,
      ...(draining ? { drainingSince: drain!.since } : {}),
      weightPercent,
      ...(weightPercent !== 100 ? { weightSince: weight!.since } : {}),
    };
  }
  return inForce;
}

/**
 * The origins' words that survive a new configuration: those of origins it still has, with the
 * state and weight the operator gave them before. Without a configuration before, every word of a
 * configured origin survives.
 */
export function controlsAfterConfigChange(
  controls: OriginControls,
  before: Config | undefined,
  after: Config,
): OriginControls {
  const previous = new Map(before?.origins.map((origin) => [origin.id, origin]));
  const kept: OriginControls = {};
  for (const origin of after.origins) {
    const control = controls[origin.id];
    if (!control) continue;
    const was = previous.get(origin.id);
    const unchanged = !before || (was !== undefined && was.state === origin.state && was.weight === origin.weight);
    if (unchanged) kept[origin.id] = control;
  }
  return kept;
}
