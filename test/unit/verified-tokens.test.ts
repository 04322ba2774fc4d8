import { describe, expect, it } from 'vitest';
import { ENTRY_OVERHEAD_BYTES, VerifiedTokens } from '../../worker/core/session/verified-tokens';

describe('the memory of verified tokens', () => {
  it('gives back what verifying a token proved, for that exact token only', () => {
    const memory = new VerifiedTokens<string>();
    memory.remember('1.abc.token', 'app-1');
    expect(memory.get('1.abc.token')).toBe('app-1');
    expect(memory.get('1.abc.token ')).toBeUndefined();
    expect(memory.get('1.abc.tokeN')).toBeUndefined();
  });

  it('never holds more bytes than its budget, dropping the oldest first', () => {
    const entry = 2 + ENTRY_OVERHEAD_BYTES; // a two-letter token, a proof of no bytes
    const memory = new VerifiedTokens<number>({ maxBytes: 3 * entry });
    for (let i = 0; i < 10; i++) memory.remember(`t${i}`, i);
    expect([memory.size, memory.bytes]).toEqual([3, 3 * entry]);
    expect([...Array(10).keys()].map((i) => memory.get(`t${i}`))).toEqual([...Array(7).fill(undefined), 7, 8, 9]);
  });

  it('charges each proof what it holds: large envelopes leave room for few, cookies for many (10,000 within the default)', () => {
    const value = 'v'.repeat(2048);
    const memory = new VerifiedTokens<string>({ maxBytes: 1024 * 1024, bytesOf: (proof) => proof.length });
    for (let i = 0; i < 10_000; i++) memory.remember(`${'e'.repeat(2800)}${i}`, value);
    expect(memory.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(memory.size).toBe(Math.floor((1024 * 1024) / (2804 + 2048 + ENTRY_OVERHEAD_BYTES)));
    const cookies = new VerifiedTokens<string>(); // the default budget
    for (let i = 0; i < 10_000; i++) cookies.remember(`1.${'c'.repeat(140)}.${i}`, 'app-1');
    expect(cookies.size).toBe(10_000);
  });

  it('keeps nothing larger than its whole budget, and keeps its count when a token is remembered again', () => {
    const memory = new VerifiedTokens<number>({ maxBytes: 2 * (1 + ENTRY_OVERHEAD_BYTES) });
    memory.remember('a', 1);
    memory.remember('b', 2);
    memory.remember('b', 3);
    expect([memory.size, memory.get('a'), memory.get('b')]).toEqual([2, 1, 3]);
    memory.remember('x'.repeat(1000), 4);
    expect([memory.size, memory.get('x'.repeat(1000))]).toEqual([2, undefined]);
  });
});
