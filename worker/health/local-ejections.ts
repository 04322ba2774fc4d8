/**
 * Passive health inside one isolate: an origin whose connection just failed here is skipped for a
 * short while, so that the requests right behind the failed one do not each wait on it. The health
 * monitor (probes, and the reports of every isolate) has the final word; this only bridges the
 * moments until its snapshot arrives.
 */
import type { HealthConfig } from '../core/config/config-schema';

/** How long an origin stays ejected here: about as long as the probes need to confirm a failure. */
export function ejectionMs(health: HealthConfig): number {
  return Math.min(60_000, health.interval * health.fall * 1000);
}

export class LocalEjections {
  readonly #until = new Map<string, number>();

  eject(originId: string, now: number, durationMs: number): void {
    this.#until.set(originId, now + durationMs);
  }

  isEjected(originId: string, now: number): boolean {
    const until = this.#until.get(originId);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#until.delete(originId);
    return false;
  }
}
