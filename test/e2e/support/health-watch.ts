/**
 * Waiting for health to change, as the worker sees it, instead of sleeping for as long as it might
 * take: the status report says what the monitor calls each origin and since when, and when the
 * answering isolate took the snapshot it routes by (Miniflare runs one isolate, so that is the one
 * the test's requests go through).
 */
import { until } from '../../support/wait';
import type { EchoOrigin } from './echo-origin';
import { DEFAULT_SECRETS, type WorkerUnderTest } from './worker-under-test';

interface HealthReport {
  health: { inSync: boolean; isolateSnapshotAt: string | null };
  origins: { id: string; health: string; healthSince: string | null }[];
}

export async function healthReport(worker: WorkerUnderTest): Promise<HealthReport> {
  const response = await worker.fetch('/_affinity/status', {
    headers: { authorization: `Bearer ${DEFAULT_SECRETS.ADMIN_TOKEN}` },
  });
  if (response.status !== 200) throw new Error(`GET /_affinity/status answered ${response.status}`);
  return (await response.json()) as HealthReport;
}

/**
 * Waits until the isolate routes by a snapshot in which the monitor calls `id` `state`: the monitor
 * says so, and the isolate's snapshot was taken since that changed (some traffic must keep it fresh).
 */
export async function untilRoutedAs(
  worker: WorkerUnderTest,
  id: string,
  state: 'healthy' | 'unhealthy',
  timeoutMs = 10_000,
): Promise<void> {
  let last = 'no status yet';
  await until(
    () => `${id} routed as ${state} (last seen: ${last})`,
    async () => {
      const report = await healthReport(worker);
      const origin = report.origins.find((o) => o.id === id);
      const { isolateSnapshotAt } = report.health;
      last = `${origin?.health} since ${origin?.healthSince}, isolate's snapshot at ${isolateSnapshotAt}`;
      if (origin?.health !== state || !origin.healthSince || !isolateSnapshotAt) return false;
      return Date.parse(isolateSnapshotAt) >= Date.parse(origin.healthSince);
    },
    { timeoutMs, everyMs: 100 },
  );
}

/** Health probes an origin has received (every request to the probe path). */
export function probesOf(origin: EchoOrigin, probePath = '/health'): number {
  return origin.seen.length - origin.traffic(probePath).length;
}

/**
 * Waits until each of `origins` has received `rounds` more probes from now on. Rounds run one after
 * the other and each probes every origin once, so all but the first of those probes come from rounds
 * that started after this call: `rounds: 2` is one whole round since.
 */
export async function untilProbed(origins: readonly EchoOrigin[], rounds: number, timeoutMs = 10_000): Promise<void> {
  const from = origins.map((origin) => probesOf(origin));
  await until(
    () =>
      `${rounds} more probes of each of ${origins.map((o, i) => `${o.id} (got ${probesOf(o) - from[i]!})`).join(', ')}`,
    () => origins.every((origin, i) => probesOf(origin) - from[i]! >= rounds),
    { timeoutMs, everyMs: 50 },
  );
}
