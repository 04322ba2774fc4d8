/**
 * This isolate's view of origin health: the monitor's snapshot, cached, so that routing reads health
 * without a Durable Object call. The snapshot is read from the object of this isolate's location,
 * which keeps the coordinator's (monitor/location/snapshot-relay.ts); its age is counted from when the
 * coordinator took it, whoever handed it over (core/health/snapshot-age.ts).
 *
 * Two ages matter. Past half the probe interval (at most 5 s) a request refreshes the snapshot behind
 * its response, so an isolate under traffic never has an old one. Past a whole interval the snapshot
 * is older than the probes themselves: a request then waits for a fresh one rather than route new
 * sessions onto an origin that has been failing its probes since — after a quiet spell, or in a new
 * isolate. Concurrent requests share that one read, and none waits longer than
 * `FRESH_SNAPSHOT_WAIT_MS`: a monitor that does not answer costs each refresh period one bounded wait,
 * then requests route by what the isolate last knew.
 *
 * Each refresh also checks that the monitor probes this isolate's configuration, and when it does not,
 * asks it (through the location object) to look at KV.
 *
 * The snapshot also carries what origins said of themselves (`drain`, `weight=<n>%`) and still holds:
 * the same object for as long as it does not change, so what is built from it is built once.
 */
import type { HealthPlan } from '../core/health/health-plan';
import {
  FRESH_SNAPSHOT_WAIT_MS,
  relayedSnapshotMaxAgeMs,
  snapshotMaxAgeMs,
  snapshotRefreshMs,
} from '../core/health/snapshot-age';
import { errorMessage, logEvent } from '../log';
import { SharedTask } from '../shared-task';
import type { LocationObject } from '../monitor/monitor-client';
import type { ControlsInForce, HealthSnapshot } from '../monitor/monitor-protocol';

/** A snapshot read taking longer than this is taken for lost (its request may have been ended). */
const REFRESH_ABANDONED_MS = 5_000;

export class HealthView {
  #unhealthy = new Set<string>();
  #takenAt?: number;
  #controls: ControlsInForce = {};
  #controlsText = '{}';
  #checkedAt = -Infinity;
  /** The refresh (by when it started) that a request waited for in vain: nobody waits for it again. */
  #waitedOut?: number;
  /** The snapshot read under way, which concurrent requests share. */
  readonly #refreshing = new SharedTask(REFRESH_ABANDONED_MS);

  isUnhealthy(originId: string): boolean {
    return this.#unhealthy.has(originId);
  }

  /** What origins said of themselves, in force: a new object only when it changed. */
  get controls(): ControlsInForce {
    return this.#controls;
  }

  /** Routes by a snapshot, unless it is older than the one this isolate has (a late answer). */
  adopt(snapshot: HealthSnapshot): void {
    if (this.#takenAt !== undefined && snapshot.takenAt < this.#takenAt) return;
    this.#unhealthy = new Set(snapshot.unhealthy);
    this.#takenAt = snapshot.takenAt;
    // An object of the previous deploy may answer without controls for a moment.
    const controls = snapshot.controls ?? {};
    const text = JSON.stringify(controls);
    if (text !== this.#controlsText) [this.#controls, this.#controlsText] = [controls, text];
  }

  /** When the snapshot this isolate routes by was taken, if it has one. */
  get takenAt(): number | undefined {
    return this.#takenAt;
  }

  /**
   * Resolves at once while the snapshot is young enough to route by; otherwise once a fresh one has
   * arrived, or after `FRESH_SNAPSHOT_WAIT_MS`, whichever comes first. A refresh that already failed in
   * this refresh period, or that one request already waited for in vain, is not waited for again.
   */
  ensureFresh(
    location: () => LocationObject,
    plan: HealthPlan,
    now: number,
    background: (task: Promise<unknown>) => void,
  ) {
    const age = now - (this.#takenAt ?? -Infinity);
    if (age < snapshotMaxAgeMs(plan.health)) return undefined;
    const running = this.#refreshing.isRunning(now);
    if (!running && now - this.#checkedAt < snapshotRefreshMs(plan.health)) return undefined;
    // One request already waited this refresh out: the others route by what the isolate knows.
    if (running && this.#waitedOut === this.#checkedAt) return undefined;
    const refresh = this.#start(location, plan, now, background);
    const checkedAt = this.#checkedAt;
    return waitAtMost(refresh, FRESH_SNAPSHOT_WAIT_MS, () => {
      this.#waitedOut = checkedAt;
      logEvent('warn', 'health.snapshot-late', {
        waitedMs: FRESH_SNAPSHOT_WAIT_MS,
        ageMs: Number.isFinite(age) ? age : null,
      });
    });
  }

  refreshIfDue(
    location: () => LocationObject,
    plan: HealthPlan,
    now: number,
    background: (task: Promise<unknown>) => void,
  ): void {
    if (this.#refreshing.isRunning(now) || now - this.#checkedAt < snapshotRefreshMs(plan.health)) return;
    this.#start(location, plan, now, background);
  }

  #start(location: () => LocationObject, plan: HealthPlan, now: number, background: (task: Promise<unknown>) => void) {
    if (!this.#refreshing.isRunning(now)) this.#checkedAt = now;
    const refresh = this.#refreshing.run(now, () => this.#refresh(location(), plan, background));
    background(refresh);
    return refresh;
  }

  async #refresh(location: LocationObject, plan: HealthPlan, background: (task: Promise<unknown>) => void) {
    try {
      const snapshot = await location.relayedSnapshot(relayedSnapshotMaxAgeMs(plan.health));
      this.adopt(snapshot);
      // Not this isolate's plan: the coordinator checks KV itself (see plan-source.ts for why). Nobody
      // waits for that: the snapshot is what a waiting request needs.
      if (snapshot.planKey !== plan.key) background(askToSync(location));
    } catch (error) {
      // Keep routing by the last snapshot; the next refresh tries again.
      logEvent('warn', 'health.snapshot-failed', { error: errorMessage(error) });
    }
  }
}

async function askToSync(location: LocationObject): Promise<void> {
  try {
    await location.relaySync();
  } catch (error) {
    logEvent('warn', 'health.sync-failed', { error: errorMessage(error) });
  }
}

/** `task`, or `onLate` after `ms` if it has not settled by then. Never rejects. */
async function waitAtMost(task: Promise<void>, ms: number, onLate: () => void): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  try {
    if ((await Promise.race([task, late])) === 'late') onLate();
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
