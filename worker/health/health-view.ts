/**
 * This isolate's view of origin health: the monitor's snapshot, cached and refreshed in the
 * background, so that routing reads health without a Durable Object call.
 *
 * A request never waits for the snapshot: it uses the one cached and, when that is older than the
 * refresh period, starts a refresh behind the response. Until the first snapshot arrives every origin
 * counts as healthy. Each refresh also checks that the monitor probes this isolate's configuration,
 * and when it does not, asks it to look at KV.
 */
import type { Bindings } from '../bindings';
import type { HealthConfig } from '../core/config-schema';
import type { HealthPlan } from '../core/health-plan';
import { errorMessage, logEvent } from '../log';
import { COORDINATOR } from './monitor-protocol';

/** How often an isolate refreshes its snapshot: every probe interval, and at least every 5 s. */
export function snapshotRefreshMs(health: HealthConfig): number {
  return Math.min(health.interval, 5) * 1000;
}

export class HealthView {
  #unhealthy = new Set<string>();
  #takenAt?: number;
  #checkedAt = -Infinity;
  #refreshing?: Promise<void>;

  isUnhealthy(originId: string): boolean {
    return this.#unhealthy.has(originId);
  }

  /** When the snapshot this isolate routes by was taken, if it has one. */
  get takenAt(): number | undefined {
    return this.#takenAt;
  }

  refreshIfDue(env: Bindings, plan: HealthPlan, now: number, background: (task: Promise<unknown>) => void): void {
    if (this.#refreshing || now - this.#checkedAt < snapshotRefreshMs(plan.health)) return;
    this.#checkedAt = now;
    this.#refreshing = this.#refresh(env, plan).finally(() => (this.#refreshing = undefined));
    background(this.#refreshing);
  }

  async #refresh(env: Bindings, plan: HealthPlan): Promise<void> {
    try {
      const coordinator = env.HEALTH_MONITOR.getByName(COORDINATOR);
      const snapshot = await coordinator.snapshot();
      this.#unhealthy = new Set(snapshot.unhealthy);
      this.#takenAt = snapshot.takenAt;
      // Not this isolate's plan: the coordinator checks KV itself (see plan-source.ts for why).
      if (snapshot.planKey !== plan.key) await coordinator.syncWithKv();
    } catch (error) {
      // Keep routing by the last snapshot; the next refresh tries again.
      logEvent('warn', 'health.snapshot-failed', { error: errorMessage(error) });
    }
  }
}
