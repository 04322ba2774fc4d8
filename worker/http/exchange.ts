/**
 * What the proxy carries through one request (proxy.ts): the request as it came, the session it
 * presented, the route planned for it, and what attempting it came to.
 */
import type { Bindings } from '../bindings';
import type { RoutePlan, RouteRequest } from '../core/routing/route-plan';
import type { RoutingTable } from '../core/routing/routing-table';
import type { IsolateState } from '../isolate-state';
import type { ClientFailure } from '../core/failover/client-failure';
import type { AttemptFailure } from '../core/failover/failed-attempt';
import type { ForwardStop } from './forwarder';
import type { HeardControl } from './control-reading';
import type { Session } from './session-reading';
import type { UnavailableReason } from './error-responses';

/** A request as the runtime hands it to the worker. */
export interface Incoming {
  request: Request;
  env: Bindings;
  ctx: ExecutionContext;
}

export interface Exchange {
  incoming: Incoming;
  url: URL;
  isolate: IsolateState;
  /** The routing table with every origin's state and weight in force. */
  table: RoutingTable;
  session: Session;
  route: RouteRequest;
  plan: RoutePlan;
  startedAt: number;
  /** Work behind the response (`ctx.waitUntil`). */
  background(task: Promise<unknown>): void;
}

/** What came of a replay an origin asked for (`Affinity-Control: replay=<id>`). */
export interface Replay {
  /** The origin whose answer was dropped. */
  from: number;
}

/** What attempting the request came to, every failed attempt included (a replay's after the first leg's). */
export type Attempts =
  | {
      kind: 'answered';
      response: Response;
      answeredBy: number;
      failures: AttemptFailure[];
      /** What the answering origins' `Affinity-Control` made the proxy do (the first leg's and the replay's). */
      control?: HeardControl;
      replay?: Replay;
    }
  | {
      kind: 'refused';
      reason: UnavailableReason;
      /** Why the forwarder stopped, when it tried any origin. */
      stopped?: ForwardStop;
      /** The candidate next in line when it stopped short of it. */
      next?: number;
      failures: AttemptFailure[];
      control?: HeardControl;
      replay?: Replay;
    }
  | { kind: 'client'; failure: ClientFailure; failures: AttemptFailure[]; control?: HeardControl; replay?: Replay };
