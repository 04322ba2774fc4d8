import { describe, expect, it } from 'vitest';
import {
  classifyAnswer,
  classifyThrown,
  FAILURE_REASONS,
  isTimeout,
  originFailed,
  reachOf,
} from '../../worker/core/failover/failed-attempt';

describe('what an attempt’s outcome says', () => {
  it('calls the answers Cloudflare mints when it could not get the request to the origin "not reached"', () => {
    for (const status of [521, 522, 523, 525, 526, 530]) {
      expect(classifyAnswer(status), String(status)).toEqual({ kind: 'not-reached', reason: `cf-${status}` });
    }
  });

  it('calls 520 and 524 "may have reached": the origin took the connection, perhaps the request', () => {
    expect(classifyAnswer(520)).toEqual({ kind: 'may-have-reached', reason: 'cf-520' });
    expect(classifyAnswer(524)).toEqual({ kind: 'may-have-reached', reason: 'cf-524' });
  });

  it('takes every other status for the origin’s own answer, 5xx included', () => {
    for (let status = 100; status <= 599; status++) {
      if ([520, 521, 522, 523, 524, 525, 526, 530].includes(status)) continue;
      expect(classifyAnswer(status), String(status)).toBeUndefined();
    }
    // 527 (Railgun) and 529 are not minted for a Worker's subrequest: passed through.
    expect(classifyAnswer(527)).toBeUndefined();
  });

  it('calls a thrown fetch "may have reached": workerd reports a refused and a reset connection alike', () => {
    expect(classifyThrown({ timedOut: false })).toEqual({ kind: 'may-have-reached', reason: 'connect-failed' });
    expect(classifyThrown({ timedOut: true })).toEqual({ kind: 'may-have-reached', reason: 'timeout' });
  });

  it('holds an origin that is gone or broke against it, and one that is only slow not', () => {
    const failed = FAILURE_REASONS.filter((reason) => originFailed({ kind: reachOf(reason), reason }));
    expect(failed.sort()).toEqual([
      'cf-520',
      'cf-521',
      'cf-522',
      'cf-523',
      'cf-525',
      'cf-526',
      'cf-530',
      'connect-failed',
    ]);
    expect(FAILURE_REASONS.filter(isTimeout).sort()).toEqual(['cf-524', 'timeout']);
  });

  it('lists every reason once, each with the reach its classification gives', () => {
    expect(new Set(FAILURE_REASONS).size).toBe(FAILURE_REASONS.length);
    expect(FAILURE_REASONS).toHaveLength(10);
    for (const reason of FAILURE_REASONS.filter((r) => r.startsWith('cf-'))) {
      expect(classifyAnswer(Number(reason.slice(3)))?.kind).toBe(reachOf(reason));
    }
  });
});
