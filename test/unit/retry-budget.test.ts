import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../worker/core/failover/retry-budget';

const T0 = 1_700_000_000_000;

describe('the isolate’s retry budget', () => {
  it('allows its reserve (10 a second over 10 s) in a quiet isolate, and not one more', () => {
    const budget = new RetryBudget();
    for (let i = 0; i < 100; i++) expect(budget.tryResend(T0), `resend ${i + 1}`).toBe(true);
    expect(budget.tryResend(T0)).toBe(false);
  });

  it('adds a fifth of a resend for every request of the window', () => {
    const budget = new RetryBudget({ minPerSecond: 0 });
    for (let i = 0; i < 50; i++) budget.countRequest(T0);
    const allowed = Array.from({ length: 12 }, () => budget.tryResend(T0)).filter(Boolean);
    expect(allowed).toHaveLength(10);
  });

  it('forgets requests and resends older than its window', () => {
    const budget = new RetryBudget({ minPerSecond: 0, windowSeconds: 10 });
    for (let i = 0; i < 10; i++) budget.countRequest(T0);
    expect(budget.tryResend(T0)).toBe(true);
    expect(budget.tryResend(T0 + 5_000)).toBe(true);
    expect(budget.tryResend(T0 + 5_000), 'two of ten requests spent').toBe(false);
    // Ten seconds on, the requests are gone and so is the first resend: nothing is left either way.
    expect(budget.tryResend(T0 + 10_000)).toBe(false);
    for (let i = 0; i < 5; i++) budget.countRequest(T0 + 10_000);
    expect(budget.tryResend(T0 + 10_000), 'one for five fresh requests, the resend at 5 s still counted').toBe(false);
    expect(budget.tryResend(T0 + 15_000), 'the resend at 5 s has left the window').toBe(true);
  });
});
