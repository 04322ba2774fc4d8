import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../worker/core/config/config-parse';
import { effectiveOrigin } from '../../worker/core/routing/effective-origin';
import {
  applyControlReport,
  controlsAfterConfigChange,
  controlsInForce,
  type OriginControl,
} from '../../worker/core/control/origin-control';

const T = 1_000_000;
const nothingRecovered = () => undefined;

function configOf(origins: object[]) {
  const parsed = parseConfig({ origins });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

describe('an origin’s word about itself', () => {
  it('keeps when a drain began while the origin repeats it, and starts anew after ready', () => {
    let control = applyControlReport(undefined, { originId: 'a', drain: true, at: T }, undefined);
    control = applyControlReport(control, { originId: 'a', drain: true, at: T + 5_000 }, undefined);
    expect(control.drain).toEqual({ draining: true, since: T, saidAt: T + 5_000 });
    control = applyControlReport(control, { originId: 'a', drain: false, at: T + 6_000 }, undefined);
    control = applyControlReport(control, { originId: 'a', drain: true, at: T + 9_000 }, undefined);
    expect(control.drain).toEqual({ draining: true, since: T + 9_000, saidAt: T + 9_000 });
  });

  it('lets the latest word win whatever order the reports arrive in', () => {
    const ready = applyControlReport(undefined, { originId: 'a', drain: false, at: T + 2 }, undefined);
    const late = applyControlReport(ready, { originId: 'a', drain: true, at: T + 1 }, undefined);
    expect(late.drain).toEqual({ draining: false, since: T + 2, saidAt: T + 2 });
    const weighed = applyControlReport(late, { originId: 'a', weightPercent: 40, at: T }, undefined);
    expect(weighed.weight).toEqual({ percent: 40, since: T, saidAt: T }); // another word, its own order
  });

  it('voids what was said before the probes saw the origin down and back up (a crash, a restart)', () => {
    const said: OriginControl = {
      drain: { draining: true, since: T, saidAt: T },
      weight: { percent: 50, since: T, saidAt: T },
    };
    expect(controlsInForce({ a: said }, () => T + 10_000)).toEqual({});
    expect(controlsInForce({ a: said }, () => T - 1)).toEqual({
      a: { draining: true, drainingSince: T, weightPercent: 50, weightSince: T },
    });
    // A report of something said before the recovery changes nothing; one said after starts afresh.
    const recoveredAt = T + 10_000;
    expect(applyControlReport(said, { originId: 'a', drain: true, at: T + 9_000 }, recoveredAt)).toEqual({});
    expect(applyControlReport(said, { originId: 'a', drain: true, at: T + 11_000 }, recoveredAt)).toEqual({
      drain: { draining: true, since: T + 11_000, saidAt: T + 11_000 },
    });
  });

  it('carries only what changes something: a ready origin at 100% is left out', () => {
    const controls = {
      ready: { drain: { draining: false, since: T, saidAt: T }, weight: { percent: 100, since: T, saidAt: T } },
      light: { weight: { percent: 25, since: T, saidAt: T } },
    };
    expect(controlsInForce(controls, nothingRecovered)).toEqual({
      light: { draining: false, weightPercent: 25, weightSince: T },
    });
  });

  it('gives way to the operator: a new configuration drops the words of origins it changed or removed', () => {
    const drain: OriginControl = { drain: { draining: true, since: T, saidAt: T } };
    const before = configOf([
      { id: 'a', url: 'http://a' },
      { id: 'b', url: 'http://b' },
      { id: 'c', url: 'http://c' },
      { id: 'd', url: 'http://d' },
    ]);
    const after = configOf([
      { id: 'a', url: 'http://a' },
      { id: 'b', url: 'http://b', weight: 2 },
      { id: 'c', url: 'http://c', state: 'draining' },
      { id: 'e', url: 'http://e' },
    ]);
    const kept = controlsAfterConfigChange({ a: drain, b: drain, c: drain, d: drain }, before, after);
    expect(Object.keys(kept)).toEqual(['a']);
    expect(Object.keys(controlsAfterConfigChange({ a: drain, d: drain }, undefined, after))).toEqual(['a']);
  });
});

describe('the state and weight in force', () => {
  const [active, draining, disabled, standby] = configOf([
    { id: 'a', url: 'http://a', weight: 4 },
    { id: 'b', url: 'http://b', state: 'draining' },
    { id: 'c', url: 'http://c', state: 'disabled' },
    { id: 'd', url: 'http://d', weight: 0 },
  ]).origins;
  const drain = { draining: true, drainingSince: T, weightPercent: 100 };
  const half = { draining: false, weightPercent: 50, weightSince: T };

  it('is the operator’s when the origin said nothing', () => {
    expect(effectiveOrigin(active!, undefined)).toMatchObject({
      state: 'active',
      weight: 4,
      stateSetBy: 'operator',
      weightSetBy: 'operator',
      control: null,
    });
  });

  it('drains an active origin that said drain, and scales the configured weight by its percentage', () => {
    expect(effectiveOrigin(active!, drain)).toMatchObject({ state: 'draining', stateSetBy: 'origin', weight: 4 });
    expect(effectiveOrigin(active!, half)).toMatchObject({ state: 'active', weight: 2, weightSetBy: 'origin' });
  });

  it('never lets an origin overrule the operator’s draining, disabled or weight 0', () => {
    expect(effectiveOrigin(draining!, { ...half, draining: false })).toMatchObject({
      state: 'draining',
      stateSetBy: 'operator',
    });
    expect(effectiveOrigin(disabled!, drain)).toMatchObject({ state: 'disabled', stateSetBy: 'operator' });
    expect(effectiveOrigin(standby!, half)).toMatchObject({ weight: 0, weightSetBy: 'operator' });
  });
});
