/**
 * Active health probes: `GET <origin url><health.path>`, healthy on a 2xx or 3xx answer within
 * `health.timeout` (redirects are not followed: a redirect proves the origin is up). At most six
 * probes are in flight at once, the connection limit of one Worker invocation.
 */
import type { HealthConfig } from '../../core/config/config-schema';
import { CONNECTIONS_PER_INVOCATION, type ProbeTarget } from '../../core/health/health-plan';
import type { ProbeOutcome } from '../../core/health/health-transition';

export const PROBE_USER_AGENT = 'edge-affinity-health-check/1';

export async function probeOrigin(target: ProbeTarget, health: HealthConfig): Promise<ProbeOutcome> {
  const at = Date.now();
  try {
    const response = await fetch(target.url + health.path, {
      redirect: 'manual',
      headers: { 'user-agent': PROBE_USER_AGENT },
      signal: AbortSignal.timeout(health.timeout * 1000),
    });
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 400) return { ok: true, at, latencyMs: Date.now() - at };
    return { ok: false, at, error: `HTTP ${response.status}` };
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    const reason = timedOut
      ? `no answer within ${health.timeout} s`
      : error instanceof Error
        ? error.message
        : String(error);
    return { ok: false, at, error: reason };
  }
}

/** Probes every target, six at a time. */
export async function probeAll(
  targets: readonly ProbeTarget[],
  health: HealthConfig,
): Promise<Map<string, ProbeOutcome>> {
  const outcomes = new Map<string, ProbeOutcome>();
  let next = 0;
  const lane = async () => {
    while (next < targets.length) {
      const target = targets[next++]!;
      outcomes.set(target.id, await probeOrigin(target, health));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECTIONS_PER_INVOCATION, targets.length) }, lane));
  return outcomes;
}
