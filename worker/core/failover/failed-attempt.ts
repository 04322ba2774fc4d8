/**
 * How an attempt to reach an origin failed, classified once, here: whether the request can have
 * reached the origin's application, and what that makes of a replay, of the origin's passive health
 * and of the session's pin. Pure: a status or what `fetch()` threw in, a class out.
 *
 * - *not reached*: the request provably never reached the application. On Cloudflare, an answer that
 *   Cloudflare minted for the subrequest: 521 (refused), 522 (connection timed out), 523 (unreachable),
 *   525 (TLS handshake failed), 526 (invalid certificate), 530 (a 1xxx error: origin DNS, a tunnel
 *   down). Safe to send to another origin, whatever the method.
 * - *may have reached*: the origin may have acted on it. A thrown `fetch()` error (workerd reports a
 *   refused and a reset connection alike, so it cannot tell "never sent" from "sent, then the origin
 *   died"), no response headers within `proxy.timeout`, or Cloudflare's 520 (the origin's answer was
 *   empty or unreadable) and 524 (the origin took the request and did not answer in time).
 *
 * Cloudflare-minted is judged by the status alone: 520–526 and 530 are Cloudflare's own error codes
 * (its documentation reserves them for errors its edge reports), so an origin that sends one claims
 * Cloudflare's words, and reading the body to tell them apart would cost every such answer a read.
 */

/** Statuses Cloudflare mints when it could not get the request to the origin at all. */
export const NOT_REACHED_STATUSES = [521, 522, 523, 525, 526, 530] as const;
/** Statuses Cloudflare mints after the origin took the connection, and perhaps the request. */
export const MAY_HAVE_REACHED_STATUSES = [520, 524] as const;

export type CloudflareStatus = (typeof NOT_REACHED_STATUSES)[number] | (typeof MAY_HAVE_REACHED_STATUSES)[number];

/** Why an attempt failed: a thrown error, no headers in time, or the Cloudflare status it came back as. */
export type FailureReason = 'connect-failed' | 'timeout' | `cf-${CloudflareStatus}`;

/** Every failure reason, for those who list them (the metrics, the documentation). */
export const FAILURE_REASONS = [
  'connect-failed',
  'timeout',
  ...[...MAY_HAVE_REACHED_STATUSES, ...NOT_REACHED_STATUSES].sort().map((status) => `cf-${status}` as const),
] as const satisfies readonly FailureReason[];

export type Reach = 'not-reached' | 'may-have-reached';

export interface FailureClass {
  kind: Reach;
  reason: FailureReason;
}

const NOT_REACHED: ReadonlySet<number> = new Set(NOT_REACHED_STATUSES);
const MAY_HAVE_REACHED: ReadonlySet<number> = new Set(MAY_HAVE_REACHED_STATUSES);

/** An origin's answer that Cloudflare minted in its place, classified; undefined for the origin's own answer. */
export function classifyAnswer(status: number): FailureClass | undefined {
  if (NOT_REACHED.has(status)) return { kind: 'not-reached', reason: `cf-${status as CloudflareStatus}` };
  if (MAY_HAVE_REACHED.has(status)) return { kind: 'may-have-reached', reason: `cf-${status as CloudflareStatus}` };
  return undefined;
}

/** Whether a failure of this reason can have reached the origin's application. */
export function reachOf(reason: FailureReason): Reach {
  if (reason === 'connect-failed' || reason === 'timeout') return 'may-have-reached';
  return classifyAnswer(Number(reason.slice(3)))!.kind;
}

/** A `fetch()` that threw: no headers in time (the attempt's own deadline), or a broken connection. */
export function classifyThrown({ timedOut }: { timedOut: boolean }): FailureClass {
  return { kind: 'may-have-reached', reason: timedOut ? 'timeout' : 'connect-failed' };
}

/** The origin was slow rather than gone: no headers in time, or Cloudflare's 524. */
export function isTimeout(reason: FailureReason): boolean {
  return reason === 'timeout' || reason === 'cf-524';
}

/**
 * Whether the origin is gone or its connection broke, rather than merely slow. Such a failure counts
 * against the origin's passive health (local ejection, reports to the monitor), and a session whose
 * request it ends moves to its next origin all the same (its next request would fail the same way).
 * A slow answer does neither: one slow endpoint says little, the session's state is still there, and
 * an origin that stops answering altogether fails its probes.
 */
export function originFailed(failure: FailureClass): boolean {
  return !isTimeout(failure.reason);
}

/** One failed attempt of a request, as the forwarder saw it. */
export interface AttemptFailure extends FailureClass {
  /** The origin's index in the routing table. */
  index: number;
  originId: string;
  /** The Cloudflare status the attempt came back as (`cf-…` reasons). */
  status?: number;
  /** What `fetch()` threw (`connect-failed`, `timeout`), for the log; never shown to the client. */
  error?: string;
}
