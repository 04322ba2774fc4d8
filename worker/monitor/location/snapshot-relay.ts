/**
 * A location object's copy of the coordinator's health snapshot, which it hands to the isolates of its
 * location: the coordinator is read at most once per `maxAgeMs` per location (4 s at the defaults),
 * however many isolates ask.
 *
 * The copy is the coordinator's, `takenAt` included, so an isolate judges its age from when the
 * coordinator took it. A read that fails leaves the copy as it is, and the next one waits a second:
 * the isolates of every location asking at once must not keep a coordinator that is struggling down.
 * An isolate asked for a younger copy than there is then gets the one there is, and keeps its own if
 * that is newer; before the first read there is nothing to hand out, and the call fails as a
 * coordinator that cannot be reached would.
 *
 * Requests to look at KV (an isolate's configuration is not the coordinator's plan) are passed on at
 * most once per `KV_SYNC_INTERVAL_MS`, the coordinator's own limit: during a configuration change every
 * isolate asks, and one call per location is enough.
 */
import type { Bindings } from '../../bindings';
import { coordinatorOf } from '../monitor-client';
import type { HealthSnapshot } from '../monitor-protocol';
import { KV_SYNC_INTERVAL_MS } from '../coordinator/plan-source';
import { errorMessage, logEvent } from '../../log';
import { SharedTask } from '../../shared-task';
import { SNAPSHOT_RETRY_AFTER_FAILURE_MS } from '../location-protocol';

/** A coordinator read taking longer than this is taken for lost. */
const READ_ABANDONED_MS = 5_000;

export class SnapshotRelay {
  #snapshot?: HealthSnapshot;
  #failedAt = -Infinity;
  #syncAskedAt = -Infinity;
  readonly #reading = new SharedTask(READ_ABANDONED_MS);

  constructor(private readonly env: Bindings) {}

  /** The coordinator's snapshot, read again when the copy is `maxAgeMs` old (concurrent askers share the read). */
  async snapshot(maxAgeMs: number): Promise<HealthSnapshot> {
    const now = Date.now();
    const young = this.#snapshot !== undefined && now - this.#snapshot.takenAt < maxAgeMs;
    if (!young && now - this.#failedAt >= SNAPSHOT_RETRY_AFTER_FAILURE_MS)
      await this.#reading.run(now, () => this.#read());
    if (!this.#snapshot) throw new Error('no health snapshot from the coordinator yet');
    return this.#snapshot;
  }

  /** Asks the coordinator to look at KV, unless this location asked within its sync interval. */
  async askToSync(): Promise<void> {
    const now = Date.now();
    if (now - this.#syncAskedAt < KV_SYNC_INTERVAL_MS) return;
    this.#syncAskedAt = now;
    await coordinatorOf(this.env.HEALTH_MONITOR).syncWithKv();
  }

  async #read(): Promise<void> {
    try {
      const snapshot = await coordinatorOf(this.env.HEALTH_MONITOR).snapshot();
      if (!this.#snapshot || snapshot.takenAt >= this.#snapshot.takenAt) this.#snapshot = snapshot;
    } catch (error) {
      this.#failedAt = Date.now();
      logEvent('warn', 'location.snapshot-failed', { error: errorMessage(error) });
    }
  }
}
