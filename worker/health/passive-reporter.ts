/**
 * Passive health: connection failures this isolate saw, reported to the health monitor behind the
 * response (`waitUntil`), never in front of it.
 *
 * Reports are coalesced: the first failure goes out at once, so a dead origin is known quickly; after
 * that an isolate sends at most one report per second, however many requests fail, each report
 * carrying the count per origin.
 */
import type { Bindings } from '../bindings';
import type { AttemptFailure } from '../core/failover/failed-attempt';
import { errorMessage, logEvent } from '../log';
import { coordinatorOf } from '../monitor/monitor-client';
import type { PassiveFailure } from '../monitor/monitor-protocol';

/** How often, at most, an isolate reports to the health coordinator (passive failures, origins' own word). */
export const COORDINATOR_REPORT_INTERVAL_MS = 1_000;

export class PassiveReporter {
  readonly #pending = new Map<string, PassiveFailure>();
  #sentAt = -Infinity;
  #sending = false;

  record(failure: AttemptFailure, now: number): void {
    const pending = this.#pending.get(failure.originId);
    if (pending) pending.count += 1;
    else
      this.#pending.set(failure.originId, { originId: failure.originId, count: 1, error: describe(failure), at: now });
  }

  flushIfDue(env: Bindings, now: number, background: (task: Promise<unknown>) => void): void {
    if (this.#pending.size === 0 || this.#sending || now - this.#sentAt < COORDINATOR_REPORT_INTERVAL_MS) return;
    const failures = [...this.#pending.values()];
    this.#pending.clear();
    this.#sentAt = now;
    this.#sending = true;
    background(this.#send(env, failures).finally(() => (this.#sending = false)));
  }

  async #send(env: Bindings, failures: PassiveFailure[]): Promise<void> {
    try {
      await coordinatorOf(env.HEALTH_MONITOR).report(failures);
    } catch (error) {
      logEvent('warn', 'health.report-failed', { error: errorMessage(error) });
    }
  }
}

/** What the monitor shows as the origin's last error: the runtime's words, or Cloudflare's status. */
function describe(failure: AttemptFailure): string {
  if (failure.status !== undefined) return `Cloudflare answered ${failure.status} (${failure.reason}): ${failure.kind}`;
  return failure.error ?? failure.reason;
}
