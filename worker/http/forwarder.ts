/**
 * Sends a request to its candidate origins in order until one answers.
 *
 * Only a failure of the connection to the origin moves on to the next origin: a refused or reset
 * connection, or no response headers within the timeout. After a timeout the origin may well be
 * working on the request, so only idempotent methods are replayed (RFC 9110 §9.2.2). workerd reports a
 * refused and a reset connection alike, so those are replayed whatever the method, as the contract
 * asks. Any response, a 5xx included, is the origin's answer and is passed through.
 *
 * What the client breaks is not the origin's failure: a request the runtime refuses to build (built
 * before the `try` that classifies origin failures), or a body that fails while it streams, stops the
 * request as the client's problem, and no origin is blamed.
 */
import { originUrl, type RoutedOrigin } from '../core/routing-table';
import type { InFlightCounter } from '../fleet/placement-load';
import type { ClientFailure } from './client-failure';
import type { OutgoingBody } from './request-body';
import { errorMessage } from '../log';

export interface AttemptFailure {
  index: number;
  originId: string;
  kind: 'connect-failed' | 'timeout';
  error: string;
}

export type ForwardStop =
  /** Every candidate failed to connect. */
  | 'exhausted'
  /** A connection failed and the body, streamed, cannot be sent again. */
  | 'not-replayable'
  /** No response headers in time, and the request may not be sent again (not idempotent, or streamed). */
  | 'timeout'
  /** The client's side failed: see `clientFailure`. */
  | 'client';

export type ForwardOutcome =
  | { ok: true; response: Response; served: number; failures: AttemptFailure[] }
  | { ok: false; failures: AttemptFailure[]; stopped: ForwardStop; clientFailure?: ClientFailure };

export interface ForwardRequest {
  method: string;
  pathAndQuery: string;
  headers: Headers;
  body: OutgoingBody;
  /** Time allowed for each origin's response headers. */
  timeoutMs: number;
  /** Candidate origins in order, with their index in the routing table. */
  targets: readonly Target[];
  /** Further candidates, asked for only once `targets` have all failed. */
  moreTargets?: () => readonly Target[];
  /** Counts each attempt in flight until its response headers (load-aware placement only). */
  inFlight?: InFlightCounter;
}

interface Target {
  index: number;
  origin: RoutedOrigin;
}

/** RFC 9110 §9.2.2. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** The abort reason of an attempt that ran out of time. */
const TIMED_OUT = 'edge-affinity: no response headers in time';

export async function forwardWithFailover(request: ForwardRequest): Promise<ForwardOutcome> {
  const failures: AttemptFailure[] = [];
  const targets = [...request.targets];
  for (let attempt = 0; attempt < targets.length; attempt++) {
    const target = targets[attempt]!;
    if (attempt > 0 && !request.body.replayable) return { ok: false, failures, stopped: 'not-replayable' };
    const result = await sendOnce(request, target);
    if (result instanceof Response) return { ok: true, response: result, served: target.index, failures };
    if (!('originId' in result)) return { ok: false, failures, stopped: 'client', clientFailure: result };
    failures.push(result);
    if (result.kind === 'timeout' && !(IDEMPOTENT.has(request.method) && request.body.replayable)) {
      return { ok: false, failures, stopped: 'timeout' };
    }
    if (attempt === request.targets.length - 1 && request.moreTargets) targets.push(...request.moreTargets());
  }
  return { ok: false, failures, stopped: 'exhausted' };
}

async function sendOnce(request: ForwardRequest, target: Target): Promise<Response | AttemptFailure | ClientFailure> {
  const attempt = new AbortController();
  const built = buildOriginRequest(request, target, attempt);
  if (!built.ok) return built.failure;
  // A timer, not AbortSignal.timeout(): the limit covers the wait for headers only, and must not
  // cut a long download or event stream once the origin has answered.
  const timer = setTimeout(() => attempt.abort(TIMED_OUT), request.timeoutMs);
  request.inFlight?.start(target.index);
  try {
    return await fetch(built.request);
  } catch (error) {
    if (request.body.clientFailure) return request.body.clientFailure;
    const kind = attempt.signal.reason === TIMED_OUT ? 'timeout' : 'connect-failed';
    return { index: target.index, originId: target.origin.id, kind, error: errorMessage(error) };
  } finally {
    request.inFlight?.end(target.index);
    clearTimeout(timer);
  }
}

/** Whatever the runtime refuses here is refused for every origin alike: the request's fault, not theirs. */
function buildOriginRequest(
  request: ForwardRequest,
  target: Target,
  attempt: AbortController,
): { ok: true; request: Request } | { ok: false; failure: ClientFailure } {
  try {
    const init = {
      method: request.method,
      headers: request.headers,
      body: request.body.take(attempt),
      redirect: 'manual',
      signal: attempt.signal,
    } satisfies RequestInit;
    return { ok: true, request: new Request(originUrl(target.origin, request.pathAndQuery), init) };
  } catch (error) {
    return { ok: false, failure: { kind: 'unforwardable', error: errorMessage(error) } };
  }
}
