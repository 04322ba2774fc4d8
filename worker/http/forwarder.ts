/**
 * Sends a request to its candidate origins in order until one answers, and sends it again to the next
 * one only when the replay rule allows (core/failover/replay-rule.ts).
 *
 * Every attempt's outcome is classified once (core/failover/failed-attempt.ts): an answer Cloudflare minted
 * because it could not reach the origin (521, 522, 523, 525, 526, 530) is *not reached*, and moves on
 * whatever the method; a thrown error (refused or reset: workerd tells them apart no better than
 * that), no response headers within the timeout, or Cloudflare's 520 or 524 *may have reached* the
 * origin, and moves on only for a request that may be sent again (an idempotent method, a keyed
 * request under `"keyed"`, anything under `"always"`), once per request, within the isolate's retry
 * budget. Any other response, a 5xx included, is the origin's answer and is passed through.
 *
 * What the client breaks is not the origin's failure: a request the runtime refuses to build (built
 * before the `try` that classifies origin failures), or a body that fails while it streams, stops the
 * request as the client's problem, and no origin is blamed.
 *
 * The forwarder only walks the candidates it is given, in order, and says which one answered, why each
 * one before it failed, and, when it stopped, which candidate was next: what that means for the
 * session is route-settlement.ts's to say. The first attempt's request is built from the client's own
 * headers, edited in place (one copy, the Request's); later attempts copy that one.
 */
import { classifyAnswer, classifyThrown, type AttemptFailure } from '../core/failover/failed-attempt';
import { mayResend, type ForwardStop, type ReplayPolicy } from '../core/failover/replay-rule';
import type { RetryBudget } from '../core/failover/retry-budget';
import { originUrl, type RoutedOrigin } from '../core/routing/routing-table';
import type { InFlightCounter } from '../fleet/placement-load';
import { errorMessage } from '../log';
import type { ClientFailure } from '../core/failover/client-failure';
import type { OutgoingBody } from './request-body';

export type ForwardOutcome =
  | { ok: true; response: Response; answeredBy: number; failures: AttemptFailure[] }
  | {
      ok: false;
      failures: AttemptFailure[];
      stopped: ForwardStop;
      /** The candidate that was next in line when the forwarder stopped short of it. */
      next?: number;
      clientFailure?: ClientFailure;
    };

export type { ForwardStop };

export interface ForwardRequest {
  method: string;
  pathAndQuery: string;
  /** The client's headers, which the first attempt's request is built from. */
  clientHeaders: Headers;
  /** Edits that first request's headers for the origins (forwarding headers, our cookies out, ...). */
  prepareHeaders(headers: Headers): void;
  body: OutgoingBody;
  /** Time allowed for each origin's response headers. */
  timeoutMs: number;
  origins: readonly RoutedOrigin[];
  /** What may be sent again after an attempt that may have reached its origin (`proxy.replay`). */
  replay: { policy: ReplayPolicy; keyed: boolean };
  /** The isolate's retry budget, which resends after such attempts draw on. */
  budget: RetryBudget;
  /** Counts each attempt in flight from when its body is sent until its response headers (load-aware placement only). */
  inFlight?: InFlightCounter;
  /**
   * Headers for the attempt to one origin only: a moved session's state for its new origin
   * (http/session-state.ts). Absent, or undefined for an origin: the headers every attempt shares.
   */
  headersFor?: (index: number) => Promise<readonly [string, string][] | undefined>;
}

/** The abort reason of an attempt that ran out of time. */
const TIMED_OUT = 'edge-affinity: no response headers in time';

/** Sends `request` to `candidates` in order until one answers; the same request may be sent again (a replay). */
export class Forwarder {
  /** The headers of the first request built, prepared for the origins; later attempts copy them. */
  #prepared?: Headers;
  /** Resends so far, over every leg, after attempts that may have reached their origin. */
  #uncertainResends = 0;

  constructor(private readonly request: ForwardRequest) {}

  async forward(candidates: Iterable<number>): Promise<ForwardOutcome> {
    const failures: AttemptFailure[] = [];
    for (const index of candidates) {
      const last = failures.at(-1);
      const resend = last && this.#mayResend(last);
      if (resend && !resend.ok) return { ok: false, failures, stopped: resend.stop, next: index };
      const result = await this.#sendOnce(index);
      if (result instanceof Response) return { ok: true, response: result, answeredBy: index, failures };
      if (!('originId' in result)) return { ok: false, failures, stopped: 'client', clientFailure: result };
      failures.push(result);
    }
    return { ok: false, failures, stopped: 'exhausted' };
  }

  /** Whether the request goes on after `failure`; a resend of an uncertain one draws on the budget. */
  #mayResend(failure: AttemptFailure): { ok: true } | { ok: false; stop: ForwardStop } {
    const { request } = this;
    const answer = mayResend({
      kind: failure.kind,
      method: request.method,
      keyed: request.replay.keyed,
      replayableBody: request.body.replayable,
      policy: request.replay.policy,
      uncertainResends: this.#uncertainResends,
    });
    if (!answer.ok) return answer;
    if (!answer.uncertain) return { ok: true };
    if (!request.budget.tryResend(Date.now())) return { ok: false, stop: 'budget' };
    this.#uncertainResends++;
    return { ok: true };
  }

  async #sendOnce(index: number): Promise<Response | AttemptFailure | ClientFailure> {
    const { request } = this;
    const origin = request.origins[index]!;
    const attempt = new AbortController();
    let counted = false;
    const sent = () => {
      if (counted || !request.inFlight) return;
      counted = true;
      request.inFlight.start(index);
    };
    const extra = request.headersFor ? await request.headersFor(index) : undefined;
    const built = this.#build(origin, attempt, sent, extra);
    if (!built.ok) return built.failure;
    // A timer, not AbortSignal.timeout(): the limit covers the wait for headers only, and must not
    // cut a long download or event stream once the origin has answered.
    const timer = setTimeout(() => attempt.abort(TIMED_OUT), request.timeoutMs);
    try {
      const response = await fetch(built.request);
      const minted = classifyAnswer(response.status);
      if (!minted) return response;
      // Cloudflare's error page, never the client's: its few bytes are dropped.
      response.body?.cancel().catch(() => {});
      return { index, originId: origin.id, ...minted, status: response.status };
    } catch (error) {
      if (request.body.clientFailure) return request.body.clientFailure;
      const failure = classifyThrown({ timedOut: attempt.signal.reason === TIMED_OUT });
      return { index, originId: origin.id, ...failure, error: errorMessage(error) };
    } finally {
      if (counted) request.inFlight?.end(index);
      clearTimeout(timer);
    }
  }

  /** Whatever the runtime refuses here is refused for every origin alike: the request's fault, not theirs. */
  #build(
    origin: RoutedOrigin,
    attempt: AbortController,
    sent: () => void,
    extra: readonly [string, string][] | undefined,
  ): { ok: true; request: Request } | { ok: false; failure: ClientFailure } {
    const { request } = this;
    try {
      const built = new Request(originUrl(origin, request.pathAndQuery), {
        method: request.method,
        headers: this.#prepared ?? request.clientHeaders,
        body: request.body.take(attempt, sent),
        redirect: 'manual',
        signal: attempt.signal,
      });
      if (!this.#prepared) {
        request.prepareHeaders(built.headers);
        // The shared headers stay without this attempt's own: a copy only when there are some.
        this.#prepared = extra ? new Headers(built.headers) : built.headers;
      }
      for (const [name, value] of extra ?? []) built.headers.set(name, value);
      return { ok: true, request: built };
    } catch (error) {
      return { ok: false, failure: { kind: 'unforwardable', error: errorMessage(error) } };
    }
  }
}
