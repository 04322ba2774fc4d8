/**
 * Sends a request to its candidate origins in order until one answers.
 *
 * Only a failure before response headers moves on to the next origin: a refused or reset connection,
 * or no answer within `proxy.timeout`. After a timeout the origin may well be working on the request,
 * so only idempotent methods are replayed (RFC 9110 §9.2.2). workerd reports a refused and a reset
 * connection alike, so those are replayed whatever the method, as the contract asks. Any response,
 * a 5xx included, is the origin's answer and is passed through.
 *
 * A streamed body (over 64 KiB, not replayable) gets no header timeout: an upload may take longer
 * than any such limit, and with nothing to fail over to, the limit would only turn it into an error.
 */
import { originUrl, type RoutedOrigin } from '../core/routing-table';
import type { ReplayableBody } from './replayable-body';
import { errorMessage } from '../log';

export interface AttemptFailure {
  index: number;
  originId: string;
  kind: 'connect-failed' | 'timeout';
  error: string;
}

export type ForwardOutcome =
  | { ok: true; response: Response; served: number; failures: AttemptFailure[] }
  | { ok: false; failures: AttemptFailure[]; stopped: 'exhausted' | 'not-replayable' | 'not-idempotent' };

export interface ForwardRequest {
  method: string;
  pathAndQuery: string;
  headers: Headers;
  body: ReplayableBody;
  /** Time allowed for each origin's response headers. */
  timeoutMs: number;
  /** Candidate origins in order, with their index in the routing table. */
  targets: readonly Target[];
  /** Further candidates, asked for only once `targets` have all failed. */
  moreTargets?: () => readonly Target[];
}

interface Target {
  index: number;
  origin: RoutedOrigin;
}

/** RFC 9110 §9.2.2. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export async function forwardWithFailover(request: ForwardRequest): Promise<ForwardOutcome> {
  const failures: AttemptFailure[] = [];
  const targets = [...request.targets];
  for (let attempt = 0; attempt < targets.length; attempt++) {
    const target = targets[attempt]!;
    if (attempt > 0 && !request.body.replayable) return { ok: false, failures, stopped: 'not-replayable' };
    const result = await sendOnce(request, target);
    if (result instanceof Response) return { ok: true, response: result, served: target.index, failures };
    failures.push(result);
    if (result.kind === 'timeout' && !IDEMPOTENT.has(request.method)) {
      return { ok: false, failures, stopped: 'not-idempotent' };
    }
    if (attempt === request.targets.length - 1 && request.moreTargets) targets.push(...request.moreTargets());
  }
  return { ok: false, failures, stopped: 'exhausted' };
}

async function sendOnce(request: ForwardRequest, target: Target): Promise<Response | AttemptFailure> {
  // A timer, not AbortSignal.timeout(): the limit covers the wait for headers only, and must not
  // cut a long download or event stream once the origin has answered.
  const controller = new AbortController();
  const timer = request.body.replayable ? setTimeout(() => controller.abort(), request.timeoutMs) : undefined;
  try {
    return await fetch(originUrl(target.origin, request.pathAndQuery), {
      method: request.method,
      headers: request.headers,
      body: request.body.take(),
      redirect: 'manual',
      signal: controller.signal,
    });
  } catch (error) {
    return {
      index: target.index,
      originId: target.origin.id,
      kind: controller.signal.aborted ? 'timeout' : 'connect-failed',
      error: errorMessage(error),
    };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
