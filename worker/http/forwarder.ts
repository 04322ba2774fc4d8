/**
 * Sends a request to its candidate origins in order until one answers.
 *
 * Only a failure of the connection to the origin moves on to the next origin: a refused or reset
 * connection, or no response headers within the timeout, and only when the request can be sent again
 * (no body, or one buffered up to 64 KiB), whatever the method, as the contract asks. An origin that
 * timed out, or reset the connection after receiving the request, may have acted on it: the README
 * says what that means for endpoints with side effects. Any response, a 5xx included, is the
 * origin's answer and is passed through.
 *
 * What the client breaks is not the origin's failure: a request the runtime refuses to build (built
 * before the `try` that classifies origin failures), or a body that fails while it streams, stops the
 * request as the client's problem, and no origin is blamed.
 *
 * The forwarder only walks the candidates it is given, in order, and says which one answered and why
 * each one before it failed: what that means for the session is route-settlement.ts's to say. The
 * first attempt's request is built from the client's own headers, edited in place (one copy, the
 * Request's); later attempts copy that one.
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
  /** Every candidate failed to connect or to answer in time. */
  | 'exhausted'
  /** An attempt failed (no connection, or no answer in time) and the body, streamed, cannot be sent again. */
  | 'not-replayable'
  /** The client's side failed: see `clientFailure`. */
  | 'client';

export type ForwardOutcome =
  | { ok: true; response: Response; answeredBy: number; failures: AttemptFailure[] }
  | { ok: false; failures: AttemptFailure[]; stopped: ForwardStop; clientFailure?: ClientFailure };

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
  /** Counts each attempt in flight until its response headers (load-aware placement only). */
  inFlight?: InFlightCounter;
}

/** The abort reason of an attempt that ran out of time. */
const TIMED_OUT = 'edge-affinity: no response headers in time';

/** Sends `request` to `candidates` in order until one answers; the same request may be sent again (a replay). */
export class Forwarder {
  /** The headers of the first request built, prepared for the origins; later attempts copy them. */
  #prepared?: Headers;

  constructor(private readonly request: ForwardRequest) {}

  async forward(candidates: Iterable<number>): Promise<ForwardOutcome> {
    const { request } = this;
    const failures: AttemptFailure[] = [];
    for (const index of candidates) {
      if (failures.length > 0 && !request.body.replayable) return { ok: false, failures, stopped: 'not-replayable' };
      const result = await this.#sendOnce(index);
      if (result instanceof Response) return { ok: true, response: result, answeredBy: index, failures };
      if (!('originId' in result)) return { ok: false, failures, stopped: 'client', clientFailure: result };
      failures.push(result);
    }
    return { ok: false, failures, stopped: 'exhausted' };
  }

  async #sendOnce(index: number): Promise<Response | AttemptFailure | ClientFailure> {
    const { request } = this;
    const origin = request.origins[index]!;
    const attempt = new AbortController();
    const built = this.#build(origin, attempt);
    if (!built.ok) return built.failure;
    // A timer, not AbortSignal.timeout(): the limit covers the wait for headers only, and must not
    // cut a long download or event stream once the origin has answered.
    const timer = setTimeout(() => attempt.abort(TIMED_OUT), request.timeoutMs);
    request.inFlight?.start(index);
    try {
      return await fetch(built.request);
    } catch (error) {
      if (request.body.clientFailure) return request.body.clientFailure;
      const kind = attempt.signal.reason === TIMED_OUT ? 'timeout' : 'connect-failed';
      return { index, originId: origin.id, kind, error: errorMessage(error) };
    } finally {
      request.inFlight?.end(index);
      clearTimeout(timer);
    }
  }

  /** Whatever the runtime refuses here is refused for every origin alike: the request's fault, not theirs. */
  #build(
    origin: RoutedOrigin,
    attempt: AbortController,
  ): { ok: true; request: Request } | { ok: false; failure: ClientFailure } {
    const { request } = this;
    try {
      const built = new Request(originUrl(origin, request.pathAndQuery), {
        method: request.method,
        headers: this.#prepared ?? request.clientHeaders,
        body: request.body.take(attempt),
        redirect: 'manual',
        signal: attempt.signal,
      });
      if (!this.#prepared) {
        request.prepareHeaders(built.headers);
        this.#prepared = built.headers;
      }
      return { ok: true, request: built };
    } catch (error) {
      return { ok: false, failure: { kind: 'unforwardable', error: errorMessage(error) } };
    }
  }
}
