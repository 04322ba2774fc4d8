import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_DIRECTIVES, parseAffinityControl } from '../../worker/core/control/affinity-control';

describe('the Affinity-Control header', () => {
  it('reads every directive of the contract', () => {
    expect(parseAffinityControl('release')).toEqual({ session: { kind: 'release' }, standing: {}, ignored: [] });
    expect(parseAffinityControl('repin=app-2').session).toEqual({ kind: 'repin', originId: 'app-2' });
    expect(parseAffinityControl('replay=app-3').session).toEqual({ kind: 'replay', originId: 'app-3' });
    expect(parseAffinityControl('drain').standing).toEqual({ drain: true });
    expect(parseAffinityControl('ready').standing).toEqual({ drain: false });
    expect(parseAffinityControl('weight=50%').standing).toEqual({ weightPercent: 50 });
  });

  it('takes directive names in any case, with whitespace around commas and equals signs, and quoted ids', () => {
    expect(parseAffinityControl(' DRAIN ,\tWeight = 0% ,  RePin= "App_2.x" ')).toEqual({
      session: { kind: 'repin', originId: 'App_2.x' },
      standing: { drain: true, weightPercent: 0 },
      ignored: [],
    });
  });

  it('keeps an origin id exactly as written: ids are case-sensitive', () => {
    expect(parseAffinityControl('repin=APP-2').session).toEqual({ kind: 'repin', originId: 'APP-2' });
  });

  it('takes whole percentages from 0% to 100% only', () => {
    for (const ok of ['0%', '100%', '007%', '99%']) {
      expect(parseAffinityControl(`weight=${ok}`).standing.weightPercent, ok).toBe(Number.parseInt(ok, 10));
    }
    for (const bad of ['101%', '50', '12.5%', '.5%', '1e2%', '-1%', '50 %', '%', '1000%', 'fifty%']) {
      const { standing, ignored } = parseAffinityControl(`weight=${bad}`);
      expect(standing, bad).toEqual({});
      expect(ignored, bad).toEqual([
        { directive: `weight=${bad}`, reason: 'weight takes a whole percentage from 0% to 100%' },
      ]);
    }
  });

  it('ignores unknown and malformed directives, each with why, and follows the rest', () => {
    const { session, standing, ignored } = parseAffinityControl(
      'drian, release=now, repin, replay=bad id!, weight, drain, flush=all, =x',
    );
    expect(session).toBeUndefined();
    expect(standing).toEqual({ drain: true });
    expect(ignored).toEqual([
      { directive: 'drian', reason: 'not a directive' },
      { directive: 'release=now', reason: 'release takes no value' },
      { directive: 'repin', reason: 'repin takes an origin id: repin=<origin-id>' },
      { directive: 'replay=bad id!', reason: 'replay takes an origin id: replay=<origin-id>' },
      { directive: 'weight', reason: 'weight takes a whole percentage from 0% to 100%' },
      { directive: 'flush=all', reason: 'not a directive' },
      { directive: '=x', reason: 'not a directive' },
    ]);
  });

  it('lets the first of two conflicting directives win, and drops a repeat quietly (a repeated header arrives combined)', () => {
    expect(parseAffinityControl('release, repin=app-2, drain, ready, weight=10%, weight=20%')).toEqual({
      session: { kind: 'release' },
      standing: { drain: true, weightPercent: 10 },
      ignored: [
        { directive: 'repin=app-2', reason: 'conflicts with the earlier "release"' },
        { directive: 'ready', reason: 'conflicts with the earlier "drain"' },
        { directive: 'weight=20%', reason: 'conflicts with the earlier "weight=10%"' },
      ],
    });
    expect(parseAffinityControl('drain, DRAIN, repin=a, repin="a", weight=05%, weight=5%')).toEqual({
      session: { kind: 'repin', originId: 'a' },
      standing: { drain: true, weightPercent: 5 },
      ignored: [],
    });
  });

  it('ignores empty list elements (RFC 9110 §5.6.1) and an empty header', () => {
    expect(parseAffinityControl(' , ,drain,, ')).toEqual({ standing: { drain: true }, ignored: [] });
    expect(parseAffinityControl('')).toEqual({ standing: {}, ignored: [] });
  });

  it(`follows at most ${MAX_DIRECTIVES} directives and logs no more than 64 characters of one`, () => {
    const header = [...Array.from({ length: MAX_DIRECTIVES }, () => 'drain'), 'release'].join(',');
    expect(parseAffinityControl(header)).toEqual({
      standing: { drain: true },
      ignored: [{ directive: 'release', reason: `more than ${MAX_DIRECTIVES} directives` }],
    });
    const long = `x${'y'.repeat(500)}`;
    expect(parseAffinityControl(long).ignored[0]!.directive).toBe(long.slice(0, 64));
  });

  it('never throws, and accounts for every non-empty element: followed, repeated or ignored', () => {
    const element = fc.oneof(
      fc.constantFrom('release', 'drain', 'ready', 'repin=a', 'replay=b', 'weight=5%', 'REPIN="c"', ' Ready '),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(element, { maxLength: 20 }), (elements) => {
        const text = elements.join(',');
        const parsed = parseAffinityControl(text);
        const nonEmpty = text.split(',').filter((e) => e.trim() !== '').length;
        const followed = (parsed.session ? 1 : 0) + Object.keys(parsed.standing).length;
        expect(followed + parsed.ignored.length).toBeLessThanOrEqual(nonEmpty);
        if (parsed.ignored.length === 0 && nonEmpty > 0) expect(followed).toBeGreaterThan(0);
        for (const { directive, reason } of parsed.ignored) {
          expect(directive.length).toBeLessThanOrEqual(64);
          expect(reason).not.toBe('');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
