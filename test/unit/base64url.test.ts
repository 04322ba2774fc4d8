import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBase64Url, encodeBase64Url } from '../../worker/core/text/base64url';

describe('base64url', () => {
  it('round-trips any bytes, and matches Node’s encoder', () => {
    for (let length = 0; length < 70; length++) {
      const bytes = new Uint8Array(randomBytes(length));
      const text = encodeBase64Url(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64url'));
      expect(decodeBase64Url(text)).toEqual(bytes);
    }
  });

  it('refuses non-canonical spellings, whose unused bits are not zero', () => {
    const text = encodeBase64Url(new Uint8Array(32).fill(7)); // 43 characters: 2 unused bits
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(text.at(-1)!);
    for (const flipped of [last ^ 1, last ^ 2, last ^ 3]) {
      const alias = text.slice(0, -1) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[flipped];
      expect(decodeBase64Url(alias), alias).toBeUndefined();
    }
  });

  it('refuses characters outside the alphabet, padding and impossible lengths', () => {
    for (const text of ['a+b/', 'abc=', 'abcde', 'é', 'ab cd']) expect(decodeBase64Url(text), text).toBeUndefined();
  });
});
