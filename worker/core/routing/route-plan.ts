/**
 * The routing decision: which origins a request may try, in which order, and what that means for
 * its session. Pure: configuration, health and the cookie's verdict in, a plan out.
 *
 * - A valid pin to an origin that is not disabled and is up is kept (draining and weight-0 origins
 *   keep their sessions).
 * - A pin to a down, disabled or removed origin, or an expired one, moves to the first origin of the
 *   session's own preference list that takes new sessions: active, weight > 0 and up.
 * - `failover: "none"` never moves a session off an origin that is merely down; an origin the operator
 *   disabled or removed is gone for good, so its sessions move even then.
 * - When health calls every candidate down, fail open: try them in preference order anyway, pinned
 *   origin first, rather than refuse service on the word of the probes alone.
 * - With a load bound (`affinity.balanceFactor`, bounded-load.ts), a session that is placed, new or
 *   moved off its origin, skips origins above the bound for the next of its own preference list; the
 *   skipped ones stay behind as last resorts. A kept pin never moves because of load.
 */
import type { FailoverMode, OriginState } from '../config/config-schema';
import type { OriginSelector } from './selector';

/** What health says of an origin right now: up, down by the probes, or down by a failed connection here. */
export type Availability = 'up' | 'unhealthy' | 'connect-failed';
/** Why a session left its origin; `replay`: the origin answered with `Affinity-Control: replay=<id>`. */
export type RepinReason = 'unhealthy' | 'connect-failed' | 'removed' | 'disabled' | 'expired' | 'replay' | 'rebalance';
export type Decision = 'new' | 'pinned' | 'repinned';

export interface RoutableOrigin {
  readonly id: string;
  readonly weight: number;
  readonly state: OriginState;
}

export interface RouteRequest {
  origins: readonly RoutableOrigin[];
  selector: OriginSelector;
  failover: FailoverMode;
  /** How many origins one request may try (the first plus its in-request failovers). */
  attempts: number;
  sessionKey: string;
  /** Index of the pinned origin, when the cookie is valid and names a configured origin. */
  pinned?: number;
  /** A cookie that pinned an origin no longer usable for a reason other than health. */
  lapsedPin?: 'removed' | 'expired';
  availability(index: number): Availability;
  /**
   * Load-aware placement: makes the test of whether an origin is within its load bound for one more
   * session. Called at most once per plan, and only when a session is placed (new or moved) or a
   * rebalancing move is weighed, never for a pin simply kept. Absent: placement ignores load.
   */
  placement?: () => (index: number) => boolean;
  /**
   * Rebalancing (`affinity.rebalance`): asked, only for a kept pin that is no longer the session's first
   * choice (see planRebalance), whether the session may move to it now (the rate allows it). Absent:
   * the session or the request is not one to move (no sealed state, not a GET or HEAD, or rebalancing off).
   */
  rebalance?: () => boolean;
}

export interface RoutePlan {
  /**
   * Origin indices to try, in order, lazily extended: the first ones are ranked up front, the spares
   * behind them only if the forwarder walks that far (a kept pin is the common case, and ranking every
   * origin for spares it will not need would cost O(origins) per request). Empty when nothing may serve.
   */
  candidates: Candidates;
  decision: Decision;
  reason?: RepinReason;
  /** Health called every candidate down, and the candidates were chosen ignoring it. */
  failOpen: boolean;
  /** A rebalancing move: the pin it leaves, which stays the session's should its first choice fail. */
  rebalancedFrom?: number;
}

/** Candidates in order; `first` is known without ranking any spare (undefined: nothing may serve). */
export interface Candidates extends Iterable<number> {
  readonly first: number | undefined;
}

function candidates(ranked: number[], spares?: () => number[]): Candidates {
  return {
    first: ranked[0],
    *[Symbol.iterator]() {
      yield* ranked;
      if (spares) yield* spares();
    },
  };
}

/** Whether an origin takes new sessions: active in force, a weight above 0, and up. */
export function takesNewSessions(origin: RoutableOrigin, availability: Availability): boolean {
  return origin.state === 'active' && origin.weight > 0 && availability === 'up';
}

export function planRoute(request: RouteRequest): RoutePlan {
  const { pinned, origins } = request;
  if (pinned === undefined) return planNewPin(request, request.lapsedPin);
  const origin = origins[pinned]!;
  const availability = request.availability(pinned);
  if (origin.state !== 'disabled' && availability === 'up') {
    // Only a pin that still takes new sessions rebalances: a draining or weight-0 origin keeps its own.
    const rebalanced =
      request.rebalance && takesNewSessions(origin, availability) ? planRebalance(request, pinned) : undefined;
    if (rebalanced) return rebalanced;
    if (request.failover === 'none') return { candidates: candidates([pinned]), decision: 'pinned', failOpen: false };
    const spares = () => pickNew(request, { count: request.attempts - 1, except: [pinned] });
    return { candidates: candidates([pinned], spares), decision: 'pinned', failOpen: false };
  }
  if (origin.state === 'disabled') return planNewPin(request, 'disabled');
  const reason = availability as Exclude<Availability, 'up'>;
  if (request.failover === 'none') {
    // Strict: the session waits for its origin. Only when health calls everything down is it tried.
    const everythingDown = pickNew(request, { count: 1 }).length === 0;
    return everythingDown
      ? { candidates: candidates([pinned]), decision: 'pinned', failOpen: true }
      : { candidates: candidates([]), decision: 'pinned', reason, failOpen: false };
  }
  const moved = pickNew(request, { count: request.attempts });
  if (moved.length > 0) return { candidates: candidates(moved), decision: 'repinned', reason, failOpen: false };
  const rest = pickNew(request, { ignoringHealth: true, count: request.attempts - 1, except: [pinned] });
  return { candidates: candidates([pinned, ...rest]), decision: 'pinned', failOpen: true };
}

/**
 * A kept pin whose session would now be placed elsewhere moves there when the rate allows: the first
 * choice first, the old pin right behind it, so a first choice that fails leaves the session where it
 * was. Only a session that sits where the hash put it before another origin came to rank above its
 * pin — one added, readmitted or made heavier — moves: its first choice by the hash alone (load is no
 * reason to move a pin) is another origin, and without that origin its first choice is its pin. A
 * session an origin handed over (`repin`), or that load-aware placement put on a later choice, is not
 * where the hash would put it, and stays. Nor does it move onto an origin above the load bound. A
 * request that may try one origin only never rebalances (a failed move would fail a request its pin
 * would have served), and in strict mode (`failover: "none"`) the two are all it tries.
 */
function planRebalance(request: RouteRequest, pinned: number): RoutePlan | undefined {
  if (request.attempts < 2) return undefined;
  const { selector, sessionKey, origins } = request;
  const takes = (index: number) => takesNewSessions(origins[index]!, request.availability(index));
  const [first] = selector.pick(sessionKey, takes, 1);
  if (first === undefined || first === pinned) return undefined;
  const [without] = selector.pick(sessionKey, (index) => index !== first && takes(index), 1);
  if (without !== pinned) return undefined;
  if (request.placement && !boundOf(request, request.placement)(first)) return undefined;
  if (!request.rebalance!()) return undefined;
  const spares =
    request.failover === 'none'
      ? undefined
      : () => pickNew(request, { count: request.attempts - 2, except: [first, pinned] });
  return {
    candidates: candidates([first, pinned], spares),
    decision: 'repinned',
    reason: 'rebalance',
    failOpen: false,
    rebalancedFrom: pinned,
  };
}

function planNewPin(request: RouteRequest, reason: RepinReason | undefined): RoutePlan {
  const decision: Decision = reason ? 'repinned' : 'new';
  const healthy = pickNew(request, { count: request.attempts });
  if (healthy.length > 0) return { candidates: candidates(healthy), decision, reason, failOpen: false };
  const anyHealth = pickNew(request, { ignoringHealth: true, count: request.attempts });
  return { candidates: candidates(anyHealth), decision, reason, failOpen: anyHealth.length > 0 };
}

/**
 * The origins a replay goes to: the one the answering origin named, then, should its connection fail,
 * the session's next origins, never the one that asked for the replay (none with failover off).
 */
export function planReplay(request: RouteRequest, target: number, answered: number): Candidates {
  if (request.failover === 'none') return candidates([target]);
  return candidates([target], () => pickNew(request, { count: request.attempts - 1, except: [target, answered] }));
}

interface Picking {
  /** How many origins, at most. */
  count: number;
  /** Origins never to pick. @default [] */
  except?: readonly number[];
  /** Pick origins that health calls down too (failing open). @default false */
  ignoringHealth?: boolean;
}

/**
 * Origins that take new sessions, in the session key's preference order; with a load bound, those
 * within it first and the others after them.
 */
function pickNew(request: RouteRequest, { count, except = [], ignoringHealth = false }: Picking): number[] {
  if (count <= 0) return [];
  const { origins, selector, sessionKey } = request;
  const takes = (index: number) =>
    !except.includes(index) &&
    origins[index]!.state === 'active' &&
    (ignoringHealth || request.availability(index) === 'up');
  if (!request.placement) return selector.pick(sessionKey, takes, count);
  const within = boundOf(request, request.placement);
  const preferred = selector.pick(sessionKey, (index) => takes(index) && within(index), count);
  if (preferred.length === count) return preferred;
  return [
    ...preferred,
    ...selector.pick(sessionKey, (index) => takes(index) && !within(index), count - preferred.length),
  ];
}

const bounds = new WeakMap<RouteRequest, (index: number) => boolean>();

/** The plan's load bound, made once per request however many lists the plan ranks. */
function boundOf(request: RouteRequest, make: () => (index: number) => boolean): (index: number) => boolean {
  let within = bounds.get(request);
  if (!within) bounds.set(request, (within = make()));
  return within;
}
