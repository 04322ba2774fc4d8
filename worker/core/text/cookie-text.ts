/**
 * Cookies as text: where a cookie's value sits in a `Set-Cookie` line or a `Cookie` header, and that
 * value replaced without touching a byte around it — the attributes an origin wrote, the other pairs
 * a client sent. A parse-and-serialise round trip (a cookie library, a Map) would normalise both:
 * re-order, re-encode, drop what it does not know.
 */

/** A cookie's name and value, and where the value lies in the text it was found in. */
export interface CookieValueSpan {
  name: string;
  value: string;
  /** The value is `text.slice(start, end)`. */
  start: number;
  end: number;
}

/**
 * The cookie a `Set-Cookie` line sets (RFC 6265 §5.2): the name-value pair is everything before the
 * first ';', split at its first '=', each side trimmed of whitespace. Without an '=' the line sets no
 * cookie at all.
 */
export function setCookiePair(line: string): CookieValueSpan | undefined {
  const pairEnd = endOfPair(line, 0);
  const equals = line.indexOf('=');
  return equals >= 0 && equals < pairEnd ? spanOf(line, 0, equals, pairEnd) : undefined;
}

/**
 * The first pair named `name` in a `Cookie` header (RFC 6265 §5.4: pairs separated by ';', the
 * cookie with the longest path first, so the first is the most specific). Names are case-sensitive.
 */
export function cookiePair(header: string, name: string): CookieValueSpan | undefined {
  if (!header.includes(name)) return undefined;
  for (let start = 0; start < header.length;) {
    const end = endOfPair(header, start);
    const equals = header.indexOf('=', start);
    if (equals >= 0 && equals < end) {
      const pair = spanOf(header, start, equals, end);
      if (pair.name === name) return pair;
    }
    start = end + 1;
  }
  return undefined;
}

/** `text` with the value at `span` replaced, and every other character as it was. */
export function withValue(text: string, span: CookieValueSpan, value: string): string {
  return text.slice(0, span.start) + value + text.slice(span.end);
}

function endOfPair(text: string, from: number): number {
  const semicolon = text.indexOf(';', from);
  return semicolon < 0 ? text.length : semicolon;
}

/** RFC 6265 §5.2 trims WSP (space and horizontal tab) only. */
const isWhitespace = (char: string | undefined) => char === ' ' || char === '\t';

function spanOf(text: string, start: number, equals: number, end: number): CookieValueSpan {
  const [nameStart, nameEnd] = trimmed(text, start, equals);
  const [valueStart, valueEnd] = trimmed(text, equals + 1, end);
  return {
    name: text.slice(nameStart, nameEnd),
    value: text.slice(valueStart, valueEnd),
    start: valueStart,
    end: valueEnd,
  };
}

/** Trailing whitespace first: an empty value then sits right after its '=', where a new one belongs. */
function trimmed(text: string, start: number, end: number): [number, number] {
  while (end > start && isWhitespace(text[end - 1])) end--;
  while (start < end && isWhitespace(text[start])) start++;
  return [start, end];
}
