/**
 * What origins said of themselves (`Affinity-Control: drain`, `ready`, `weight=<n>%`), reported to the
 * health coordinator behind the response (`waitUntil`), like passive failures: coalesced, the first
 * report at once and then at most one per second, never one call per request.
 *
 * Only news is sent: when the report is due, a word the coordinator already has in force (this
 * isolate's snapshot says so) is dropped, so an origin may repeat itself on every response at the
 * cost of a map entry. The coordinator answers with its snapshot, which this isolate routes by at
 * once; every other isolate has it with its next snapshot (within half a probe interval, 5 s at most).
 * A report that fails is kept for the next one, unless the origin has said something newer.
 */
import type { Bindings } from '../bindings';
import type { StandingDirectives } from '../core/control/affinity-control';
import type { ControlReport, ControlsInForce } from '../core/control/origin-control';
import { errorMessage, logEvent } from '../log';
import type { HealthView } from './health-view';
import { coordinatorOf } from '../monitor/monitor-client';
import { COORDINATOR_REPORT_INTERVAL_MS } from './passive-reporter';

type Aspect = 'drain' | 'weightPercent';

export class ControlReporter {
  /** The latest word per origin and aspect (`${originId} ${aspect}`). */
  readonly #pending = new Map<string, ControlReport>();
  #sentAt = -Infinity;
  #sending = false;

  /** What the answering origin said, and when this isolate heard it. */
  record(originId: string, said: StandingDirectives, at: number): void {
    if (said.drain !== undefined) this.#pending.set(`${originId} drain`, { originId, drain: said.drain, at });
    if (said.weightPercent !== undefined) {
      this.#pending.set(`${originId} weightPercent`, { originId, weightPercent: said.weightPercent, at });
    }
  }

  flushIfDue(env: Bindings, health: HealthView, now: number, background: (task: Promise<unknown>) => void): void {
    if (this.#pending.size === 0 || this.#sending || now - this.#sentAt < COORDINATOR_REPORT_INTERVAL_MS) return;
    const reports = [...this.#pending.values()].filter((report) => isNews(report, health.controls));
    this.#pending.clear();
    if (reports.length === 0) return;
    this.#sentAt = now;
    this.#sending = true;
    background(this.#send(env, health, reports).finally(() => (this.#sending = false)));
  }

  async #send(env: Bindings, health: HealthView, reports: ControlReport[]): Promise<void> {
    try {
      health.adopt(await coordinatorOf(env.HEALTH_MONITOR).reportControl(reports));
    } catch (error) {
      logEvent('warn', 'health.control-report-failed', { error: errorMessage(error), reports: reports.length });
      for (const report of reports) {
        const key = `${report.originId} ${aspectOf(report)}`;
        if (!this.#pending.has(key)) this.#pending.set(key, report);
      }
    }
  }
}

function aspectOf(report: ControlReport): Aspect {
  return report.drain !== undefined ? 'drain' : 'weightPercent';
}

/** Whether a word differs from what is in force for its origin (nothing in force: ready, at 100%). */
function isNews(report: ControlReport, inForce: ControlsInForce): boolean {
  const known = inForce[report.originId];
  if (report.drain !== undefined) return report.drain !== (known?.draining ?? false);
  return report.weightPercent !== (known?.weightPercent ?? 100);
}
