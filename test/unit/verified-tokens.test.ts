import { describe, expect, it } from 'vitest';
import { VerifiedTokens } from '../../worker/core/verified-tokens';

describe('the memory of verified tokens', () => {
  it('gives back what verifying a token proved, for that exact token only', () => {
    const memory = new VerifiedTokens<string>();
    memory.remember('1.abc.token', 'app-1');
    expect(memory.get('1.abc.token')).toBe('app-1');
    expect(memory.get('1.abc.token ')).toBeUndefined();
    expect(memory.get('1.abc.tokeN')).toBeUndefined();
  });

  it('never holds more than its capacity, dropping the oldest first', () => {
    const memory = new VerifiedTokens<number>({ capacity: 3 });
    for (let i = 0; i < 10; i++) memory.remember(`t${i}`, i);
    expect(memory.size).toBe(3);
    expect([...Array(10).keys()].map((i) => memory.get(`t${i}`))).toEqual([
      ...Array(7).fill(undefined),
      7,
      8,
      9,
    ]);
  });

  it('keeps its size when a token it holds is remembered again', () => {
    const memory = new VerifiedTokens<number>({ capacity: 2 });
    memory.remember('a', 1);
    memory.remember('b', 2);
    memory.remember('b', 3);
    expect([memory.size, memory.get('a'), memory.get('b')]).toEqual([2, 1, 3]);
  });
});
