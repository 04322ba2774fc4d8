import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyAnswer, classifyThrown, type FailureClass } from '../../worker/core/failover/failed-attempt';
import { carriesIdempotencyKey, mayResend, type ReplayPolicy } from '../../worker/core/failover/replay-rule';

/**
 * The contract's table ("Failed attempts, and which may be sent again"), stated on its own: not
 * reached → any method; may have reached → GET, HEAD, OPTIONS, TRACE, PUT, DELETE under "safe", those
 * and keyed requests under "keyed", anything under "always"; only with a body that can be sent again
 * (none or buffered); and a request is sent again at most once after an attempt that may have reached.
 */
function contractSaysResend(c: {
  outcome: FailureClass;
  method: string;
  body: 'none' | 'buffered' | 'streamed';
  policy: ReplayPolicy;
  keyed: boolean;
  uncertainResends: number;
}): boolean {
  if (c.body === 'streamed') return false;
  if (c.outcome.kind === 'not-reached') return true;
  if (c.uncertainResends > 0) return false;
  const idempotent = ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'].includes(c.method);
  if (c.policy === 'always') return true;
  if (c.policy === 'keyed') return idempotent || c.keyed;
  return idempotent;
}

const methodArb = fc.constantFrom(
  'GET',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PUT',
  'DELETE',
  'POST',
  'PATCH',
  'PROPFIND',
  'LOCK',
  'MKCOL',
  'get', // methods are case-sensitive (RFC 9110 §9.1): this is not GET
);
/** Every way an attempt fails: thrown, timed out, or one of Cloudflare's statuses. */
const outcomeArb = fc.oneof(
  fc.boolean().map((timedOut) => classifyThrown({ timedOut })),
  fc.constantFrom(520, 521, 522, 523, 524, 525, 526, 530).map((status) => classifyAnswer(status)!),
);

describe('which failed attempts are sent to the next origin', () => {
  it('follows the contract’s table for every method, outcome, body, policy and key', () => {
    fc.assert(
      fc.property(
        outcomeArb,
        methodArb,
        fc.constantFrom('none', 'buffered', 'streamed' as const),
        fc.constantFrom<ReplayPolicy>('safe', 'keyed', 'always'),
        fc.boolean(),
        fc.nat(2),
        (outcome, method, body, policy, keyed, uncertainResends) => {
          const answer = mayResend({
            kind: outcome.kind,
            method,
            keyed,
            replayableBody: body !== 'streamed',
            policy,
            uncertainResends,
          });
          const expected = contractSaysResend({ outcome, method, body, policy, keyed, uncertainResends });
          expect(answer.ok).toBe(expected);
          if (answer.ok) expect(answer.uncertain).toBe(outcome.kind === 'may-have-reached');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('says why it stops: a body gone, a method that may not run twice, a second uncertain failure', () => {
    const base = { method: 'POST', keyed: false, replayableBody: true, policy: 'safe' as const, uncertainResends: 0 };
    expect(mayResend({ ...base, kind: 'not-reached', replayableBody: false })).toEqual({
      ok: false,
      stop: 'not-replayable',
    });
    expect(mayResend({ ...base, kind: 'may-have-reached' })).toEqual({ ok: false, stop: 'not-idempotent' });
    expect(mayResend({ ...base, kind: 'may-have-reached', method: 'GET', uncertainResends: 1 })).toEqual({
      ok: false,
      stop: 'resent-once',
    });
    expect(mayResend({ ...base, kind: 'not-reached' })).toEqual({ ok: true, uncertain: false });
  });

  it('takes only a non-empty Idempotency-Key for a key', () => {
    expect(carriesIdempotencyKey(null)).toBe(false);
    expect(carriesIdempotencyKey('')).toBe(false);
    expect(carriesIdempotencyKey('  ')).toBe(false);
    expect(carriesIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toBe(true);
  });
});
