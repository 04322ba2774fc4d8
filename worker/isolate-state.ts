/**
 * Everything an isolate keeps between requests: the configuration in force, the imported keys and
 * what it knows of origin health. One instance per worker instance, so tests can start clean.
 */
import type { Bindings } from './bindings';
import { ConfigStore } from './config/config-store';
import { importSigningKey } from './core/affinity-token';
import type { HealthConfig } from './core/config-schema';
import { importEnvelopeKey } from './core/learned-envelope';
import type { Availability } from './core/route-plan';
import type { RoutingTable } from './core/routing-table';
import { HealthView } from './health/health-view';
import { ejectionMs, LocalEjections } from './health/local-ejections';
import { PassiveReporter } from './health/passive-reporter';
import type { AttemptFailure } from './http/forwarder';
import { SigningKeyCache } from './http/signing-keys';

export class IsolateState {
  readonly config = new ConfigStore();
  readonly keys = new SigningKeyCache(importSigningKey);
  /** Derived only once a request or a response has a learned value to open or seal. */
  readonly envelopeKeys = new SigningKeyCache(importEnvelopeKey);
  readonly ejections = new LocalEjections();
  readonly health = new HealthView();
  readonly reporter = new PassiveReporter();

  /** A failed connection here outranks the snapshot: it is newer. */
  availability(originId: string, now: number): Availability {
    if (this.ejections.isEjected(originId, now)) return 'connect-failed';
    return this.health.isUnhealthy(originId) ? 'unhealthy' : 'up';
  }

  /**
   * Origins whose connection failed here are skipped by this isolate's next requests and reported to
   * the monitor. A timeout is not: it may be one slow endpoint, and moving every session off an
   * origin for it would do more harm than the slow request did. An origin that stops answering
   * altogether fails its probes, which time out too.
   */
  recordFailures(failures: readonly AttemptFailure[], health: HealthConfig, now: number): void {
    const refused = failures.filter((failure) => failure.kind === 'connect-failed');
    for (const failure of refused) this.ejections.eject(failure.originId, now, ejectionMs(health));
    this.reporter.record(refused, now);
  }

  /** Background work after a request: refresh the health snapshot, send passive reports. Never awaited. */
  upkeep(env: Bindings, table: RoutingTable, now: number, background: (task: Promise<unknown>) => void): void {
    this.health.refreshIfDue(env, table.healthPlan, now, background);
    this.reporter.flushIfDue(env, now, background);
  }
}
