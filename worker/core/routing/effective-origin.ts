/**
 * An origin's state and weight in force: the operator's configuration combined with what the origin
 * said of itself (`Affinity-Control: drain`, `ready`, `weight=<n>%`). Computed here and nowhere else:
 * routing, the status, the metrics and `GET /_affinity/origins/<id>` all read it from this function.
 *
 * - The operator's `disabled` and `draining` always win: an origin cannot bring itself back into
 *   rotation against the operator, and its `ready` only undoes its own `drain`.
 * - An `active` origin that said `drain` is draining: it keeps its sessions and takes no new ones.
 * - The weight in force is the configured weight × the origin's percentage (HAProxy's agent-check
 *   `<n>%` is likewise relative to the configured weight), so an operator's weight 0 stays 0 and an
 *   origin can only lower its share, never raise it past what the operator allows.
 */
import type { OriginConfig, OriginState } from '../config/config-schema';
import type { ControlInForce } from '../control/origin-control';

export type SetBy = 'operator' | 'origin';

export interface EffectiveOrigin {
  id: string;
  url: string;
  /** The state routing acts on. */
  state: OriginState;
  /** The weight new sessions are placed by. */
  weight: number;
  stateSetBy: SetBy;
  weightSetBy: SetBy;
  /** What the operator configured. */
  configured: { state: OriginState; weight: number };
  /** What the origin said of itself and still holds; null when nothing. */
  control: ControlInForce | null;
}

export function effectiveOrigin(origin: OriginConfig, control: ControlInForce | undefined): EffectiveOrigin {
  const drainedByOrigin = origin.state === 'active' && control?.draining === true;
  const percent = control?.weightPercent ?? 100;
  return {
    id: origin.id,
    url: origin.url,
    state: drainedByOrigin ? 'draining' : origin.state,
    weight: percent === 100 ? origin.weight : (origin.weight * percent) / 100,
    stateSetBy: drainedByOrigin ? 'origin' : 'operator',
    weightSetBy: percent !== 100 && origin.weight > 0 ? 'origin' : 'operator',
    configured: { state: origin.state, weight: origin.weight },
    control: control ?? null,
  };
}
