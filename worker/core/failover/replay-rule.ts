/**
 * Which failed attempts may be sent again to the next origin (`proxy.replay`). Pure: the failure's
 * class, the request's method, key and body, and what the request already went through, in; a yes or
 * the reason for no, out.
 *
 * - Not reached: any method, for the origin never saw it. Only a body that can be sent again (none, or
 *   one buffered up to 64 KiB) can be.
 * - May have reached: the origin may have acted on it, so only what the policy allows: `safe` (the
 *   default) the methods RFC 9110 §9.2.2 defines as idempotent, `keyed` also a request that carries an
 *   `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header; only for origins that share their
 *   key store), `always` any method (the operator accepts double execution). And at most once per
 *   request: a request whose resend fails in such a way again is not sent a third time, so a request
 *   that breaks every origin it reaches (a "query of death") breaks at most two, and a slow origin is
 *   never asked more than twice for one request (the retry budget of the isolate bounds the rest).
 */

export const REPLAY_POLICIES = ['safe', 'keyed', 'always'] as const;
export type ReplayPolicy = (typeof REPLAY_POLICIES)[number];

/** RFC 9110 §9.2.2: the methods whose intended effect is the same however often a request is sent. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** The header a client sends a request's idempotency key in. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

export interface ResendQuestion {
  /** How the last attempt failed. */
  kind: 'not-reached' | 'may-have-reached';
  method: string;
  /** The request carries a non-empty `Idempotency-Key`. */
  keyed: boolean;
  /** Its body can be sent again: none, or buffered. */
  replayableBody: boolean;
  policy: ReplayPolicy;
  /** How many times this request was already sent again after an attempt that may have reached its origin. */
  uncertainResends: number;
}

export type ResendStop =
  /** The body streamed through: there is nothing to send again. */
  | 'not-replayable'
  /** The origin may have acted on it, and the policy does not allow sending it again. */
  | 'not-idempotent'
  /** It was sent again once already after an attempt that may have reached its origin. */
  | 'resent-once';

export type ResendAnswer =
  /** `uncertain`: the origin may have acted on it, so the resend draws on the isolate's retry budget. */
  { ok: true; uncertain: boolean } | { ok: false; stop: ResendStop };

export function mayResend(question: ResendQuestion): ResendAnswer {
  if (!question.replayableBody) return { ok: false, stop: 'not-replayable' };
  if (question.kind === 'not-reached') return { ok: true, uncertain: false };
  if (!policyAllows(question)) return { ok: false, stop: 'not-idempotent' };
  if (question.uncertainResends >= 1) return { ok: false, stop: 'resent-once' };
  return { ok: true, uncertain: true };
}

function policyAllows({ policy, method, keyed }: ResendQuestion): boolean {
  if (policy === 'always') return true;
  if (IDEMPOTENT_METHODS.has(method)) return true;
  return policy === 'keyed' && keyed;
}

/** Whether an `Idempotency-Key` value names a key (the draft's value is a structured string; any text will do). */
export function carriesIdempotencyKey(value: string | null): boolean {
  return value !== null && value.trim() !== '';
}

/** Why a request went no further than the origins it tried. */
export type ForwardStop =
  /** Every candidate failed. */
  | 'exhausted'
  /** The replay rule kept the request from going on (`mayResend`). */
  | ResendStop
  /** The isolate's retry budget had no room for another resend of an attempt that may have reached its origin. */
  | 'budget'
  /** The client's side failed: see `clientFailure`. */
  | 'client';
