/**
 * A configuration compiled for routing: built once per configuration change, then read by every
 * request without rebuilding anything.
 */
import { ADMIN_SESSION_COOKIE_NAMES } from '../session/admin-session';
import type { Config, OriginState } from '../config/config-schema';
import { effectiveOrigin } from './effective-origin';
import { healthPlan, type HealthPlan } from '../health/health-plan';
import { parseLearnedNames, type LearnedName } from '../session/learned-names';
import type { ControlsInForce } from '../control/origin-control';
import { createSelector, type OriginSelector } from './selector';
import { parseSessionKeySource, type SessionKeySource } from './session-key';

export interface RoutedOrigin {
  readonly id: string;
  /** The origin URL in the configuration's normal form (origin-url.ts): the request path is appended to it as it is. */
  readonly url: string;
  readonly weight: number;
  readonly state: OriginState;
}

export interface RoutingTable {
  readonly config: Config;
  readonly origins: readonly RoutedOrigin[];
  readonly indexOf: ReadonlyMap<string, number>;
  readonly selector: OriginSelector;
  readonly sessionKey: SessionKeySource;
  /** The names whose values origins issue and the worker wraps in envelopes (`affinity.learn`); often none. */
  readonly learned: readonly LearnedName[];
  /** What the health monitor should probe for this configuration. */
  readonly healthPlan: HealthPlan;
  /**
   * The worker's own cookies, which never reach an origin and which no origin may set: the affinity
   * cookie, its sealed state (`<cookie>_state`) and the admin session's.
   */
  readonly ownCookies: readonly string[];
  /** `affinity.balanceFactor`: the load bound of placements; undefined when placement ignores load. */
  readonly balanceFactor: number | undefined;
}

export function compileRoutingTable(config: Config): RoutingTable {
  const origins = config.origins.map((origin) => ({
    id: origin.id,
    url: origin.url,
    weight: origin.weight,
    state: origin.state,
  }));
  return {
    config,
    origins,
    indexOf: new Map(origins.map((origin, index) => [origin.id, index])),
    selector: createSelector(config.affinity.algorithm, origins),
    sessionKey: parseSessionKeySource(config.affinity.key),
    learned: parseLearnedNames(config.affinity.learn),
    healthPlan: healthPlan(config),
    ownCookies: [config.affinity.cookie, `${config.affinity.cookie}_state`, ...ADMIN_SESSION_COOKIE_NAMES],
    balanceFactor: config.affinity.balanceFactor,
  };
}

/**
 * The table with every origin's state and weight in force: the configuration's, combined with what
 * the origins said of themselves (effective-origin.ts). Built once per change of either, never per
 * request; when no origin's word changes anything, the configuration's own table is the answer, and
 * the selector is rebuilt only when a weight changed.
 */
export function withOriginControls(table: RoutingTable, controls: ControlsInForce): RoutingTable {
  const origins = table.config.origins.map((origin) => {
    const { id, url, weight, state } = effectiveOrigin(origin, controls[origin.id]);
    return { id, url, weight, state };
  });
  const differs = (key: 'state' | 'weight') =>
    origins.some((origin, i) => origin[key] !== table.config.origins[i]![key]);
  const reweighted = differs('weight');
  if (!reweighted && !differs('state')) return table;
  const selector = reweighted ? createSelector(table.config.affinity.algorithm, origins) : table.selector;
  return { ...table, origins, selector };
}

/** The origin's URL for a request path and query: `https://app-1.internal/prefix` + `/cart?x=1`. */
export function originUrl(origin: RoutedOrigin, pathAndQuery: string): string {
  return origin.url + pathAndQuery;
}
