/**
 * The worker's own answers, when it cannot or will not proxy. Short plain text that tells an operator
 * what to do, never a secret, a cookie value or a stack trace.
 */
import { CONFIG_KEY, type ConfigFailure } from '../config/config-source';
import type { ClientFailure, ClientFailureKind } from '../core/failover/client-failure';

export function plainText(status: number, message: string, retryAfterSeconds?: number): Response {
  const headers = new Headers({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  if (retryAfterSeconds !== undefined) headers.set('retry-after', String(Math.max(1, Math.ceil(retryAfterSeconds))));
  return new Response(`${message}\n`, { status, headers });
}

/** Fail closed: without the signing secret no cookie can be trusted or issued. */
export function missingSecret(): Response {
  return plainText(
    500,
    'edge-affinity: the AFFINITY_SECRET secret is not set, so nothing is proxied.\n' +
      'Set it with `wrangler secret put AFFINITY_SECRET` (locally: AFFINITY_SECRET=... in .dev.vars).',
  );
}

export function configUnavailable(lookup: ConfigFailure): Response {
  const howTo =
    `Put a configuration under the key "${CONFIG_KEY}" of the ORIGINS KV namespace, for example:\n` +
    `  wrangler kv key put --binding ORIGINS ${CONFIG_KEY} '{"origins":[{"id":"app-1","url":"https://app-1.example.com"}]}'\n` +
    'or PUT it to /_affinity/config with the admin token.';
  switch (lookup.failure) {
    case 'missing':
      return plainText(503, `edge-affinity: no configuration yet.\n${howTo}`, 5);
    case 'invalid':
      return plainText(
        503,
        `edge-affinity: the configuration in KV key "${CONFIG_KEY}" is invalid (${lookup.problems.length} problem(s); ` +
          'see the logs or GET /_affinity/status).',
        5,
      );
    case 'unreadable':
      return plainText(503, 'edge-affinity: the configuration could not be read from KV; retrying.', 5);
  }
}

export type UnavailableReason =
  | 'no-origin'
  | 'strict-pin-down'
  | 'all-failed'
  | 'not-replayable'
  | 'not-idempotent'
  | 'budget'
  | 'resent-once'
  | 'timeout';

const UNAVAILABLE: Record<UnavailableReason, [status: number, message: string]> = {
  'no-origin': [503, 'edge-affinity: no origin is available to take this session.'],
  'strict-pin-down': [503, "edge-affinity: this session's origin is unavailable and failover is off."],
  'all-failed': [502, 'edge-affinity: no origin could be reached.'],
  'not-replayable': [502, 'edge-affinity: the origin could not be reached and the request body cannot be replayed.'],
  'not-idempotent': [
    502,
    'edge-affinity: the connection to the origin broke after it may have received this request, which is not ' +
      'idempotent: it was not sent to another origin, so that it cannot run twice.',
  ],
  budget: [
    502,
    'edge-affinity: the origin failed, and this request was not sent again: too many requests are being re-sent ' +
      'at once (retry budget).',
  ],
  'resent-once': [
    502,
    'edge-affinity: no origin could be reached: the request failed on two, and a request that may have ' +
      'reached them is not sent to a third.',
  ],
  // RFC 9110 §15.6.5: the last origin tried took the request and did not answer in time.
  timeout: [504, 'edge-affinity: the origin did not answer in time.'],
};

export function originUnavailable(reason: UnavailableReason, retryAfterSeconds: number): Response {
  const [status, message] = UNAVAILABLE[reason];
  return plainText(status, message, retryAfterSeconds);
}

const CLIENT_FAULT: Record<Exclude<ClientFailureKind, 'unforwardable'>, [status: number, message: string]> = {
  'body-not-allowed': [
    400,
    'edge-affinity: a GET or HEAD request with a body cannot be forwarded (the Workers runtime cannot send one). ' +
      'Leave the body out, or send it with POST or PUT.',
  ],
  'body-incomplete': [400, 'edge-affinity: the request body ended before it was complete.'],
  // RFC 9110 §15.5.9: the server did not receive a complete request in the time it was prepared to wait.
  'body-timeout': [408, 'edge-affinity: the request body did not arrive in time.'],
};

/** The client's own problem, said as such: nothing here is any origin's doing. */
export function clientFault(failure: ClientFailure): Response {
  if (failure.kind === 'unforwardable') {
    return plainText(400, `edge-affinity: this request cannot be forwarded: ${failure.error}`);
  }
  const [status, message] = CLIENT_FAULT[failure.kind];
  return plainText(status, message);
}
