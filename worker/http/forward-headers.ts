/**
 * Header rules of a proxy: what goes to the origin and what comes back to the client.
 *
 * RFC 9110 §7.6.1: hop-by-hop headers are meaningful for one connection only. workerd itself drops
 * `Connection`, `Keep-Alive`, `TE`, `Trailer`, `Transfer-Encoding` and `Upgrade` when it sends a request
 * to an origin or a response to a client, and frames both anew (test/e2e/pass-through.test.ts holds it
 * to that); what it passes on, and the worker must drop, are the `Proxy-*` ones and whatever
 * `Connection` names. Headers are asked for by name rather than walked: usually none is there, and
 * each header operation crosses into the runtime.
 */

const HOP_BY_HOP_PASSED_ON = ['proxy-connection', 'proxy-authorization'];
/** `Connection` options that name no header (RFC 9112 §9.3, §9.6; RFC 9110 §7.8). */
const CONNECTION_OPTIONS = new Set(['keep-alive', 'close', 'upgrade']);

/**
 * Headers that tell an origin who the client is or how it connected. Frameworks trust them (Express
 * `trust proxy`, Rails, Spring, Django), so a client must never be able to choose them: the three the
 * contract names are set from what Cloudflare saw (setForwarding), these are removed, whatever the
 * client sent.
 */
const CLIENT_IDENTITY = [
  'forwarded',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-server',
  'x-forwarded-ssl',
  'x-forwarded-scheme',
  'x-forwarded-by',
  'x-original-forwarded-for',
  'x-real-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'client-ip',
  'true-client-ip',
  'fastly-client-ip',
  'x-original-host',
  'x-original-url',
  'x-rewrite-url',
  'x-url-scheme',
  'front-end-https',
];

/**
 * Headers another proxy in front of an origin sets, which origins and their frameworks act on: a
 * client certificate vouched for (Envoy's XFCC), the path or URL before a rewrite, and the method an
 * origin should use instead of the request's (so a client could turn a GET the worker replays as
 * idempotent into a DELETE at the origin). No proxy in front of this worker set them for the origin.
 */
const PROXY_CLAIMS = [
  'x-forwarded-client-cert',
  'x-forwarded-uri',
  'x-forwarded-path',
  'x-envoy-original-path',
  'x-envoy-original-url',
  'x-envoy-external-address',
  'x-envoy-internal',
  'x-original-method',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
];

/**
 * The worker's own headers: the words an origin says to the worker (`Affinity-Control`, `Affinity-State`)
 * and what the worker alone tells an origin (`Affinity-Handoff-*`, set after this, and the debugging
 * header). A client sending them to an origin would speak in the worker's name.
 */
export const WORKER_HEADERS = [
  'affinity-control',
  'affinity-state',
  'affinity-handoff-state',
  'affinity-handoff-from',
  'x-affinity-decision',
];

/** What no origin gets from the client: hop-by-hop headers workerd passes on, claims about the client, ours. */
const DROPPED = [...HOP_BY_HOP_PASSED_ON, ...CLIENT_IDENTITY, ...PROXY_CLAIMS, ...WORKER_HEADERS];

export interface ForwardingFacts {
  /**
   * Cookies that never reach the origin: the affinity cookie, and the admin session cookie (browsers
   * send that one only under the admin prefix, which is never proxied; a client may still send it anywhere).
   */
  strippedCookies: readonly string[];
  /** The client's address as Cloudflare saw it (`CF-Connecting-IP`), if known. */
  clientIp: string | null;
  /** The URL the client asked for, as Cloudflare routed it. */
  url: URL;
}

/**
 * Edits, in place, the headers of a request built from the client's, for the origin: hop-by-hop
 * headers and our own cookies out, every claim about the client out, and the forwarding headers the
 * worker vouches for set.
 */
export function prepareOriginHeaders(headers: Headers, facts: ForwardingFacts): void {
  for (const name of namedByConnection(headers)) headers.delete(name);
  const cookie = withoutCookies(headers.get('cookie'), facts.strippedCookies);
  if (cookie) headers.set('cookie', cookie);
  else if (cookie !== undefined) headers.delete('cookie');
  for (const name of DROPPED) if (headers.has(name)) headers.delete(name);
  setForwarding(headers, facts);
}

/**
 * `X-Forwarded-For`, `-Proto` and `-Host` (the contract's three), from the address Cloudflare saw and
 * the request URL. Without a known address, no `X-Forwarded-For` rather than a guess.
 */
function setForwarding(headers: Headers, { url, clientIp }: ForwardingFacts): void {
  headers.set('x-forwarded-proto', url.protocol === 'https:' ? 'https' : 'http');
  headers.set('x-forwarded-host', url.host);
  if (clientIp) headers.set('x-forwarded-for', clientIp);
  else if (headers.has('x-forwarded-for')) headers.delete('x-forwarded-for');
}

/**
 * Whether the origin's response headers can go to the client as they are: nothing hop-by-hop that
 * workerd would pass on, and no cookie of the worker's set by the origin. Then the response itself is
 * passed on, without a copy of its headers.
 */
export function passesAsIs(headers: Headers, ownCookies: readonly string[]): boolean {
  return (
    namedByConnection(headers).length === 0 && !headers.has('proxy-authenticate') && !setsOwnCookie(headers, ownCookies)
  );
}

/**
 * Whether the origin sets one of the worker's cookies (the affinity cookie, its state, the admin
 * session): an origin, or whoever controls one, must not pin, unpin or sign in a client in the
 * worker's name.
 */
function setsOwnCookie(headers: Headers, ownCookies: readonly string[]): boolean {
  return headers.has('set-cookie') && headers.getSetCookie().some((line) => ownCookies.includes(cookieNameOf(line)));
}

/**
 * The origin's response headers for the client: every `Set-Cookie` included but those of the worker's
 * own cookies (named in `dropped`, which it fills), hop-by-hop ones excluded.
 */
export function clientResponseHeaders(
  response: Response,
  ownCookies: readonly string[],
  dropped: string[] = [],
): Headers {
  const headers = new Headers(response.headers);
  for (const name of namedByConnection(headers)) headers.delete(name);
  if (headers.has('proxy-authenticate')) headers.delete('proxy-authenticate');
  if (setsOwnCookie(headers, ownCookies)) {
    const lines = headers.getSetCookie();
    headers.delete('set-cookie');
    for (const line of lines) {
      const name = cookieNameOf(line);
      if (ownCookies.includes(name)) dropped.push(name);
      else headers.append('set-cookie', line);
    }
  }
  return headers;
}

/**
 * The name a `Set-Cookie` line sets, as a browser will send it back (RFC 6265bis §5.6): up to the
 * first `=`, trimmed; for a nameless cookie (`=name=value`, or no `=` at all), what its value begins
 * with, which the browser sends on its own and a server reads as a name.
 */
function cookieNameOf(line: string): string {
  const pair = line.split(';', 1)[0]!;
  const equals = pair.indexOf('=');
  if (equals < 0) return pair.trim();
  const name = pair.slice(0, equals).trim();
  return name !== ''
    ? name
    : pair
        .slice(equals + 1)
        .split('=', 1)[0]!
        .trim();
}

/** The headers a `Connection` header names, other than its options; none when there is no such header. */
function namedByConnection(headers: Headers): string[] {
  const connection = headers.get('connection');
  if (connection === null) return [];
  return connection
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '' && !CONNECTION_OPTIONS.has(name));
}

/**
 * Removes our cookies from a `Cookie` header and keeps every other pair exactly as the client sent it
 * (order, duplicates, encoding): a parse-and-serialise round trip through a map would not. `undefined`
 * when nothing was removed, so the header is left as it was.
 */
export function withoutCookies(header: string | null, names: readonly string[]): string | null | undefined {
  if (!header || !names.some((name) => header.includes(name))) return undefined;
  const kept = header
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair && !names.includes(pair.split('=', 1)[0]!.trim()));
  return kept.length > 0 ? kept.join('; ') : null;
}
