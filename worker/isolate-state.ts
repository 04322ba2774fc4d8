/**
 * Everything an isolate keeps between requests: the configuration in force, the imported keys and
 * what it knows of origin health. One instance per worker instance, so tests can start clean.
 */
import { ConfigStore } from './config/config-store';
import type { Availability } from './core/route-plan';
import type { HealthConfig } from './core/config-schema';
import { ejectionMs, LocalEjections } from './health/local-ejections';
import type { AttemptFailure } from './http/forwarder';
import { SigningKeyCache } from './http/signing-keys';

export class IsolateState {
  readonly config = new ConfigStore();
  readonly keys = new SigningKeyCache();
  readonly ejections = new LocalEjections();

  availability(originId: string, now: number): Availability {
    return this.ejections.isEjected(originId, now) ? 'connect-failed' : 'up';
  }

  /** Origins that failed here are skipped by this isolate's next requests. */
  recordFailures(failures: readonly AttemptFailure[], health: HealthConfig, now: number): void {
    for (const failure of failures) this.ejections.eject(failure.originId, now, ejectionMs(health));
  }
}
