/**
 * Header rules of a proxy: what goes to the origin and what comes back to the client.
 */

/** RFC 9110 §7.6.1: meaningful for one connection only, so a proxy must not pass them on. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export function isWebSocketUpgrade(headers: Headers): boolean {
  return headers.get('upgrade')?.toLowerCase() === 'websocket';
}

/**
 * Drops hop-by-hop headers, including any the `Connection` header names; keeps a WebSocket handshake.
 * Asks for each by name rather than walking every header: usually none is there.
 */
function dropHopByHop(headers: Headers, keepUpgrade: boolean): void {
  const named = headers.get('connection')?.split(',') ?? [];
  for (const name of [...HOP_BY_HOP, ...named.map((n) => n.trim().toLowerCase())]) {
    if (name && headers.has(name)) headers.delete(name);
  }
  if (keepUpgrade) {
    headers.set('upgrade', 'websocket');
    headers.set('connection', 'Upgrade');
  }
}

/**
 * Headers that tell an origin who the client is or how it connected. Frameworks trust them (Express
 * `trust proxy`, Rails, Spring, Django), so a client must never be able to choose them: the ones the
 * worker knows are set from what Cloudflare saw, the rest are removed, whatever the client sent.
 */
const CLIENT_IDENTITY = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
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

export interface ForwardingFacts {
  /**
   * Cookies that never reach the origin: the affinity cookie, and the admin session cookie (browsers
   * send that one only under the admin prefix, which is never proxied; a client may still send it anywhere).
   */
  strippedCookies: readonly string[];
  /** The client's address as Cloudflare saw it (`CF-Connecting-IP`), if known. */
  clientIp: string | null;
}

/**
 * The headers of the request to the origin: the client's, minus hop-by-hop headers, our own cookies
 * and anything claiming to identify the client, plus the forwarding headers the worker vouches for.
 */
export function originRequestHeaders(request: Request, url: URL, facts: ForwardingFacts): Headers {
  const headers = new Headers(request.headers);
  dropHopByHop(headers, isWebSocketUpgrade(request.headers));
  const cookie = withoutCookies(headers.get('cookie'), facts.strippedCookies);
  if (cookie) headers.set('cookie', cookie);
  else if (cookie !== undefined) headers.delete('cookie');
  for (const name of CLIENT_IDENTITY) if (headers.has(name)) headers.delete(name);
  setForwarding(headers, url, facts.clientIp);
  return headers;
}

/**
 * `X-Forwarded-For/-Proto/-Host/-Port`, `X-Real-IP` and RFC 7239 `Forwarded`, from the request URL
 * (the host Cloudflare routed by) and the address Cloudflare saw. Without a known address the
 * client-naming ones are left out rather than guessed.
 */
function setForwarding(headers: Headers, url: URL, clientIp: string | null): void {
  const proto = url.protocol.slice(0, -1);
  headers.set('x-forwarded-proto', proto);
  headers.set('x-forwarded-host', url.host);
  headers.set('x-forwarded-port', url.port || (proto === 'https' ? '443' : '80'));
  const forwarded = [`host=${forwardedValue(url.host)}`, `proto=${proto}`];
  if (clientIp) {
    headers.set('x-forwarded-for', clientIp);
    headers.set('x-real-ip', clientIp);
    forwarded.unshift(`for=${forwardedValue(clientIp.includes(':') ? `[${clientIp}]` : clientIp)}`);
  }
  headers.set('forwarded', forwarded.join(';'));
}

/** RFC 7239 §4: a value that is not a plain token (an IPv6 address, a host with a port) is quoted. */
function forwardedValue(value: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** The origin's response headers for the client, every `Set-Cookie` included, hop-by-hop ones excluded. */
export function clientResponseHeaders(response: Response): Headers {
  const headers = new Headers(response.headers);
  dropHopByHop(headers, response.status === 101);
  return headers;
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
