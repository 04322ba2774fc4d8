/**
 * Header rules of a proxy: what goes to the origin and what comes back to the client.
 */
import { ADMIN_SESSION_COOKIE_NAMES } from '../core/admin-session';

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

export interface ForwardingFacts {
  /** The affinity cookie's name: it never reaches the origin. */
  affinityCookie: string;
  /** The client's address as Cloudflare saw it, if known. */
  clientIp: string | null;
}

/**
 * The headers of the request to the origin: the client's, minus hop-by-hop, the affinity cookie and
 * the admin session cookie (browsers send that one only under the admin prefix, which is never
 * proxied; a client may still send it anywhere).
 */
export function originRequestHeaders(request: Request, url: URL, facts: ForwardingFacts): Headers {
  const headers = new Headers(request.headers);
  dropHopByHop(headers, isWebSocketUpgrade(request.headers));
  const cookie = withoutCookies(headers.get('cookie'), [facts.affinityCookie, ...ADMIN_SESSION_COOKIE_NAMES]);
  if (cookie) headers.set('cookie', cookie);
  else headers.delete('cookie');
  const forwardedFor = appendForwardedFor(headers.get('x-forwarded-for'), facts.clientIp);
  if (forwardedFor) headers.set('x-forwarded-for', forwardedFor);
  headers.set('x-forwarded-proto', url.protocol.slice(0, -1));
  headers.set('x-forwarded-host', request.headers.get('host') ?? url.host);
  return headers;
}

/** The origin's response headers for the client, every `Set-Cookie` included, hop-by-hop ones excluded. */
export function clientResponseHeaders(response: Response): Headers {
  const headers = new Headers(response.headers);
  dropHopByHop(headers, response.status === 101);
  return headers;
}

/**
 * Removes the named cookies from a `Cookie` header and keeps every other pair exactly as the client
 * sent it (order, duplicates, encoding): a parse-and-serialise round trip through a map would not.
 */
export function withoutCookies(header: string | null, names: readonly string[]): string | null {
  if (!header || !names.some((name) => header.includes(name))) return header;
  const kept = header
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair && !names.includes(pair.split('=', 1)[0]!.trim()));
  return kept.length > 0 ? kept.join('; ') : null;
}

/** Appends the client to `X-Forwarded-For` unless the edge already put it last. */
function appendForwardedFor(prior: string | null, clientIp: string | null): string | null {
  if (!clientIp) return prior;
  if (!prior) return clientIp;
  const last = prior.split(',').at(-1)?.trim();
  return last === clientIp ? prior : `${prior}, ${clientIp}`;
}
