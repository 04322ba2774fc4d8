import { describe, expect, it } from 'vitest';
import {
  applyPassiveFailures,
  applyProbe,
  initialHealth,
  type HealthState,
  type OriginHealth,
  type Thresholds,
} from '../../worker/core/health/health-transition';

const LETTER: Record<HealthState, string> = { unknown: '?', healthy: 'H', unhealthy: 'D' };

/** Applies probes written as '+' (success) and '-' (failure); returns the state letter after each. */
function run(probes: string, thresholds: Thresholds, start: OriginHealth = initialHealth()): string {
  let health = start;
  return [...probes]
    .map((step, at) => {
      health = applyProbe(
        health,
        step === '+' ? { ok: true, at, latencyMs: 5 } : { ok: false, at, error: 'HTTP 503' },
        thresholds,
      );
      return LETTER[health.state];
    })
    .join('');
}

/**
 * An independent statement of the rule: the state is that of the most recent run of equal outcomes
 * that reached its threshold (rise for successes, fall for failures); unknown if none has.
 */
function expectedStates(probes: string, { rise, fall }: Thresholds): string {
  return [...probes]
    .map((_, i) => {
      const runs = probes
        .slice(0, i + 1)
        .match(/\++|-+/g)!
        .reverse();
      const decisive = runs.find((r) => r.length >= (r[0] === '+' ? rise : fall));
      return decisive ? (decisive[0] === '+' ? 'H' : 'D') : '?';
    })
    .join('');
}

function allSequences(length: number): string[] {
  return Array.from({ length: 2 ** length }, (_, n) =>
    n.toString(2).padStart(length, '0').replace(/0/g, '+').replace(/1/g, '-'),
  );
}

describe('health transitions', () => {
  it('start unknown, which routing treats as healthy', () => {
    expect(initialHealth()).toEqual({ state: 'unknown', successes: 0, failures: 0 });
  });

  it('follow the rise/fall rule for every sequence of up to 10 probes, for every rise and fall from 1 to 4', () => {
    for (let rise = 1; rise <= 4; rise++) {
      for (let fall = 1; fall <= 4; fall++) {
        for (const probes of allSequences(10)) {
          expect(run(probes, { rise, fall }), `rise ${rise} fall ${fall}: ${probes}`).toBe(
            expectedStates(probes, { rise, fall }),
          );
        }
      }
    }
  });

  it.each([
    { probes: '++-+-+-+-+', states: '?HHHHHHHHH', why: 'a healthy origin answering every other probe stays in' },
    { probes: '--+-+-+-+-', states: '?DDDDDDDDD', why: 'an unhealthy origin answering every other probe stays out' },
    { probes: '++--++--++', states: '?HHDDHHDDH', why: 'full runs do flip it, each time' },
    { probes: '+--+-+-++', states: '??DDDDDDH', why: 'only a full run of successes brings it back' },
  ])('do not flap: $why', ({ probes, states }) => {
    expect(run(probes, { rise: 2, fall: 2 })).toBe(expectedStates(probes, { rise: 2, fall: 2 }));
    expect(run(probes, { rise: 2, fall: 2 })).toBe(states);
  });

  it('record the last probe time, latency and error', () => {
    let health = applyProbe(initialHealth(), { ok: true, at: 1000, latencyMs: 12 }, { rise: 1, fall: 1 });
    expect(health).toMatchObject({ state: 'healthy', lastProbeAt: 1000, latencyMs: 12, changedAt: 1000 });
    health = applyProbe(health, { ok: false, at: 2000, error: 'no answer within 2 s' }, { rise: 1, fall: 1 });
    expect(health).toMatchObject({
      state: 'unhealthy',
      lastProbeAt: 2000,
      lastError: 'no answer within 2 s',
      changedAt: 2000,
    });
  });

  it('record when an origin came back from unhealthy, and only then (what it said before is void)', () => {
    const thresholds = { rise: 2, fall: 1 };
    let health = initialHealth();
    for (const [at, ok] of [
      [1, true],
      [2, true],
    ] as const)
      health = applyProbe(health, { ok, at, latencyMs: 1 }, thresholds);
    expect(health).toMatchObject({ state: 'healthy', changedAt: 2 });
    expect(health.recoveredAt).toBeUndefined(); // unknown → healthy is a start, not a recovery
    health = applyProbe(health, { ok: false, at: 3, error: 'HTTP 503' }, thresholds);
    for (const at of [4, 5, 6]) health = applyProbe(health, { ok: true, at, latencyMs: 1 }, thresholds);
    expect(health).toMatchObject({ state: 'healthy', changedAt: 5, recoveredAt: 5 });
  });
});

describe('passive failures', () => {
  const thresholds = { rise: 2, fall: 3 };
  const healthy = (): OriginHealth => ({ state: 'healthy', successes: 5, failures: 0 });

  it('mark an origin unhealthy at once when enough of them arrive together', () => {
    expect(applyPassiveFailures(healthy(), 3, 'Network connection lost.', 10, thresholds)).toMatchObject({
      state: 'unhealthy',
      failures: 3,
      lastError: 'Network connection lost.',
      changedAt: 10,
    });
  });

  it('add up with failed probes', () => {
    const once = applyPassiveFailures(healthy(), 1, 'reset', 10, thresholds);
    expect(once.state).toBe('healthy');
    const probed = applyProbe(once, { ok: false, at: 20, error: 'HTTP 502' }, thresholds);
    expect(probed.state).toBe('healthy');
    expect(applyPassiveFailures(probed, 1, 'reset', 30, thresholds).state).toBe('unhealthy');
  });

  it('never bring an origin back: only rise successful probes do', () => {
    const down = applyPassiveFailures(healthy(), 3, 'reset', 10, thresholds);
    const oneProbe = applyProbe(down, { ok: true, at: 20, latencyMs: 3 }, thresholds);
    expect(oneProbe.state).toBe('unhealthy');
    expect(applyProbe(oneProbe, { ok: true, at: 30, latencyMs: 3 }, thresholds).state).toBe('healthy');
  });

  it('are reset by a successful probe (they must be consecutive)', () => {
    const once = applyPassiveFailures(healthy(), 2, 'reset', 10, thresholds);
    const probed = applyProbe(once, { ok: true, at: 20, latencyMs: 3 }, thresholds);
    expect(applyPassiveFailures(probed, 2, 'reset', 30, thresholds).state).toBe('healthy');
  });
});
