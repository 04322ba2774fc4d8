import { describe, expect, it } from 'vitest';
import { interpretEnvelopes, NO_ENVELOPE, type CarriedValue } from '../../worker/core/session/envelope-reading';
import type { EnvelopeOpening } from '../../worker/core/session/learned-envelope';
import { parseLearnedNames } from '../../worker/core/session/learned-names';

const [MCP, JSESSIONID] = parseLearnedNames(['header:Mcp-Session-Id', 'cookie:JSESSIONID']) as [
  ReturnType<typeof parseLearnedNames>[number],
  ReturnType<typeof parseLearnedNames>[number],
];
const indexOf = new Map([
  ['app-1', 0],
  ['app-2', 1],
]);
const opened = (originId: string, value: string, signedWith: 'current' | 'previous' = 'current'): EnvelopeOpening => ({
  ok: true,
  originId,
  value,
  signedWith,
});
const carried = (learned: typeof MCP, text: string, opening: EnvelopeOpening): CarriedValue => ({
  learned,
  text,
  opening,
});

describe('interpretEnvelopes', () => {
  it('says absent when nothing was carried under a learned name', () => {
    expect(interpretEnvelopes([], indexOf)).toEqual(NO_ENVELOPE);
    expect(NO_ENVELOPE).toEqual({ outcome: 'absent', unsealed: [] });
  });

  it('pins a valid envelope to its origin, keyed by the learned name and the origin’s own value', () => {
    expect(interpretEnvelopes([carried(MCP, 'ENV', opened('app-2', 'sid-1'))], indexOf)).toEqual({
      outcome: 'valid',
      learned: 'header:mcp-session-id',
      pinned: 1,
      sessionKey: 'learned:header:mcp-session-id:sid-1',
      unsealed: [{ learned: MCP, envelope: 'ENV', originId: 'app-2', value: 'sid-1', signedWith: 'current' }],
    });
  });

  it('says previous-key for an envelope sealed with the retired secret, and still pins it', () => {
    expect(interpretEnvelopes([carried(MCP, 'ENV', opened('app-1', 'sid-1', 'previous'))], indexOf)).toMatchObject({
      outcome: 'previous-key',
      pinned: 0,
    });
  });

  it('says unknown-origin, a lapsed pin, for an authentic envelope whose origin was removed, and still unseals it', () => {
    const reading = interpretEnvelopes([carried(JSESSIONID, 'ENV', opened('app-9', 'abc'))], indexOf);
    expect(reading).toMatchObject({
      outcome: 'unknown-origin',
      learned: 'cookie:JSESSIONID',
      lapsedPin: 'removed',
      sessionKey: 'learned:cookie:JSESSIONID:abc',
    });
    expect(reading.pinned).toBeUndefined();
    expect(reading.unsealed).toHaveLength(1);
  });

  it('routes by the first envelope that names a configured origin, and unseals every authentic one', () => {
    const reading = interpretEnvelopes(
      [carried(MCP, 'E1', opened('app-9', 'gone')), carried(JSESSIONID, 'E2', opened('app-2', 'here'))],
      indexOf,
    );
    expect(reading).toMatchObject({ outcome: 'valid', learned: 'cookie:JSESSIONID', pinned: 1 });
    expect(reading.unsealed.map((u) => u.value)).toEqual(['gone', 'here']);
  });

  it('says tampered for a forged envelope and plain for the origin’s own value; neither routes nor is unsealed', () => {
    const forged: EnvelopeOpening = { ok: false, reason: 'forged' };
    const plain: EnvelopeOpening = { ok: false, reason: 'plain' };
    expect(interpretEnvelopes([carried(MCP, 'x', plain), carried(JSESSIONID, 'y', forged)], indexOf)).toEqual({
      outcome: 'tampered',
      learned: 'cookie:JSESSIONID',
      unsealed: [],
    });
    expect(interpretEnvelopes([carried(MCP, 'x', plain)], indexOf)).toEqual({
      outcome: 'plain',
      learned: 'header:mcp-session-id',
      unsealed: [],
    });
  });
});
