/**
 * What the proxy carries through one request (proxy.ts): the session as the request presented it, the
 * route planned for it, and each leg of attempts at answering it (the first, and a replay of it).
 */
import type { Context } from 'hono';
import type { CookieReading } from '../core/affinity-session';
import type { SigningKeys } from '../core/affinity-token';
import type { EnvelopeReading } from '../core/envelope-reading';
import type { Availability, RoutePlan, RouteRequest } from '../core/route-plan';
import type { RoutingTable } from '../core/routing-table';
import type { SessionPin } from '../core/session-pin';
import type { AppEnv } from '../bindings';
import type { IsolateState } from '../isolate-state';
import type { AttemptFailure, ForwardOutcome } from './forwarder';

export interface Session {
  keys: SigningKeys;
  /** The envelope keys of learned values, derived on first use. */
  envelopeKeys: () => Promise<SigningKeys>;
  reading: CookieReading;
  envelope: EnvelopeReading;
  pin: SessionPin;
  sessionId: string;
  sessionKey: string;
}

export interface Exchange {
  c: Context<AppEnv>;
  isolate: IsolateState;
  /** The routing table with every origin's state and weight in force. */
  table: RoutingTable;
  session: Session;
  route: RouteRequest;
  plan: RoutePlan;
  availability: (index: number) => Availability;
  startedAt: number;
}

/** One round of attempts at answering the request: the first, or a replay of it. */
export interface Leg {
  send(targets: readonly number[], more?: () => number[]): Promise<ForwardOutcome>;
  replayable: boolean;
  /** For a replay: the origin whose answer was dropped, the failures before it and what it said. */
  replayOf?: { originId: string; failures: AttemptFailure[]; followed: string[] };
}

export type Answered = Extract<ForwardOutcome, { ok: true }>;
