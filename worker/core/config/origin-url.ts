/**
 * Origin URLs: which texts the configuration accepts, and the one form in which it keeps them.
 *
 * Requests and probes reach an origin at its URL followed by a path (`https://h/app` + `/cart?x=1`),
 * joined as text. So the configuration keeps each URL exactly as the WHATWG URL parser (the one
 * `fetch` uses) writes it, trailing slashes dropped: the text that is joined is the URL that is
 * requested, and nobody downstream re-parses or trims it.
 *
 * Accepted, and normalised: surrounding whitespace, the case of scheme and host, a default port,
 * trailing slashes, `.` and `..` segments, and characters a path must carry percent-encoded (a space,
 * non-ASCII letters). Refused: what the parser would silently delete or reinterpret, so that the URL
 * in force would not be the one written: tabs, line breaks and other control characters (deleted) and
 * backslashes (read as `/`) inside the URL; and a `?` or `#` (the request path would land in the query
 * or the fragment), credentials, or anything but `http://` or `https://` followed by a host.
 */

export type OriginUrlResult = { ok: true; url: string } | { ok: false; message: string };

export const ORIGIN_URL_MESSAGES = {
  form: 'must be an absolute http: or https: URL (a path prefix is allowed; no credentials, query or fragment)',
  rewritten:
    'must not contain tabs, line breaks, other control characters or backslashes (a URL parser drops them or reads "\\" as "/")',
} as const;

/**
 * The parser deletes a tab, CR or LF anywhere, strips other control characters at the ends and
 * percent-encodes them in a path, and reads `\` as `/`: none of them can mean what was written.
 */
const SILENTLY_REWRITTEN = /[\u0000-\u001f\u007f\\]/;

/**
 * `http://` or `https://`, then an authority without credentials (no `@`: even an empty user part
 * would be dropped), then an optional path, with no `?` or `#` anywhere.
 */
const PLAIN_HTTP_URL = /^https?:\/\/[^/?#@]+(?:\/[^?#]*)?$/i;

/** The configuration's form of an origin URL, or why the text cannot stand for one. */
export function normaliseOriginUrl(text: string): OriginUrlResult {
  const written = text.trim();
  if (SILENTLY_REWRITTEN.test(written)) return { ok: false, message: ORIGIN_URL_MESSAGES.rewritten };
  if (!PLAIN_HTTP_URL.test(written)) return { ok: false, message: ORIGIN_URL_MESSAGES.form };
  let url: URL;
  try {
    url = new URL(written);
  } catch {
    return { ok: false, message: ORIGIN_URL_MESSAGES.form };
  }
  // The request path starts with "/", so the prefix ends without one: https://h/app/ + /cart is /app/cart.
  return { ok: true, url: `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}` };
}
