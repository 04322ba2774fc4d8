import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cookiePair, setCookiePair, withValue } from '../../worker/core/text/cookie-text';

describe('setCookiePair', () => {
  it('finds the cookie a Set-Cookie line sets, and where its value lies', () => {
    const line = 'JSESSIONID=7F3A9C; Path=/app; HttpOnly; SameSite=Lax';
    const pair = setCookiePair(line)!;
    expect(pair).toMatchObject({ name: 'JSESSIONID', value: '7F3A9C' });
    expect(line.slice(pair.start, pair.end)).toBe('7F3A9C');
  });

  it('trims spaces and tabs around the name and value (RFC 6265 §5.2), keeps quotes and inner spaces', () => {
    expect(setCookiePair(' sid \t=\t "a b" ; Path=/')).toMatchObject({ name: 'sid', value: '"a b"' });
    expect(setCookiePair('sid=x=y; Path=/')).toMatchObject({ name: 'sid', value: 'x=y' });
    expect(setCookiePair('sid=')).toMatchObject({ name: 'sid', value: '' });
  });

  it('finds no cookie in a line without "=" before the first ";"', () => {
    expect(setCookiePair('no-equals; Path=/a=b')).toBeUndefined();
    expect(setCookiePair('')).toBeUndefined();
  });
});

describe('cookiePair', () => {
  it('finds the first pair of a name, case-sensitively, and nothing for a name that is only a prefix or a value', () => {
    const header = 'theme=dark; JSESSIONID=first; jsessionid=lower; JSESSIONID=second';
    const pair = cookiePair(header, 'JSESSIONID')!;
    expect(pair.value).toBe('first');
    expect(header.slice(pair.start, pair.end)).toBe('first');
    expect(cookiePair(header, 'jsessionid')?.value).toBe('lower');
    expect(cookiePair(header, 'JSESSION')).toBeUndefined();
    expect(cookiePair(header, 'dark')).toBeUndefined();
    expect(cookiePair('a=1;b=2;  c = 3 ', 'c')?.value).toBe('3');
  });
});

describe('withValue', () => {
  it('replaces only the value: every other byte of the line or header stays as it was', () => {
    const line = 'JSESSIONID=7F3A9C;Path=/app;   HttpOnly;Expires=Wed, 21 Oct 2026 07:28:00 GMT';
    expect(withValue(line, setCookiePair(line)!, 'ENVELOPE')).toBe(
      'JSESSIONID=ENVELOPE;Path=/app;   HttpOnly;Expires=Wed, 21 Oct 2026 07:28:00 GMT',
    );
    const header = 'a=1;  JSESSIONID=ENV ;b="x y"';
    expect(withValue(header, cookiePair(header, 'JSESSIONID')!, 'orig')).toBe('a=1;  JSESSIONID=orig ;b="x y"');
  });

  it('leaves every other pair of any Cookie header untouched (property)', () => {
    const nameArb = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/);
    const valueArb = fc.stringMatching(/^[!#-+\--:<-[\]-~]{0,12}$/);
    const sepArb = fc.constantFrom('; ', ';', ';  ', ' ; ');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(nameArb, valueArb), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        valueArb,
        sepArb,
        (pairs, pick, replacement, separator) => {
          const header = pairs.map(([name, value]) => `${name}=${value}`).join(separator);
          const name = pairs[pick % pairs.length]![0];
          const first = pairs.findIndex(([n]) => n === name);
          const span = cookiePair(header, name)!;
          expect(span.value).toBe(pairs[first]![1]);
          const expected = pairs.map(([n, v], i) => `${n}=${i === first ? replacement : v}`).join(separator);
          expect(withValue(header, span, replacement)).toBe(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
