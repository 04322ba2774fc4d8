import { describe, expect, it } from 'vitest';
import { GOLDEN_RANKINGS, rankGoldenKeys } from '../support/golden-rankings';

describe('selection inside workerd', () => {
  it.each(['rendezvous', 'ring'] as const)('ranks the golden keys exactly as Node does (%s)', (algorithm) => {
    expect(rankGoldenKeys(algorithm)).toEqual(GOLDEN_RANKINGS[algorithm]);
  });
});
