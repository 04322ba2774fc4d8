/**
 * A browser-like client with its own cookie jar, for following one session across requests.
 */
import type { Echo } from './echo-origin';
import type { WorkerUnderTest } from './worker-under-test';

export interface Exchange {
  response: Response;
  text: string;
  /** The affinity cookie's `Set-Cookie`, if the response had one. */
  affinitySetCookie?: string;
  /** The origin that served the request (its `x-served-by` header). */
  servedBy: string | null;
}

export class Client {
  readonly jar = new Map<string, string>();

  constructor(
    private readonly worker: WorkerUnderTest,
    readonly cookieName = '__affinity',
  ) {}

  get affinityToken(): string | undefined {
    return this.jar.get(this.cookieName);
  }

  async request(path: string, init: RequestInit = {}): Promise<Exchange> {
    const headers = new Headers(init.headers);
    const cookies = [...this.jar].map(([name, value]) => `${name}=${value}`);
    if (headers.has('cookie')) cookies.push(headers.get('cookie')!);
    if (cookies.length > 0) headers.set('cookie', cookies.join('; '));
    const response = await this.worker.fetch(path, { ...init, headers });
    const text = await response.text();
    let affinitySetCookie: string | undefined;
    for (const setCookie of response.headers.getSetCookie()) {
      const [pair] = setCookie.split(';');
      const [name, value] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      // As a browser does (RFC 6265 §5.3): Max-Age=0 deletes the cookie.
      if (/;\s*max-age=0\s*(;|$)/i.test(setCookie)) this.jar.delete(name);
      else this.jar.set(name, value);
      if (name === this.cookieName) affinitySetCookie = setCookie;
    }
    return { response, text, affinitySetCookie, servedBy: response.headers.get('x-served-by') };
  }

  /** A GET of the echo route, parsed. */
  async echo(path = '/', init: RequestInit = {}): Promise<Exchange & { echo: Echo }> {
    const exchange = await this.request(path, init);
    if (exchange.response.status !== 200)
      throw new Error(`expected 200, got ${exchange.response.status}: ${exchange.text}`);
    return { ...exchange, echo: JSON.parse(exchange.text) as Echo };
  }
}

/** Opens `count` sessions (one request each, to `path`) and returns them with the origin each was pinned to. */
export async function openSessions(
  worker: WorkerUnderTest,
  count: number,
  path = '/',
): Promise<{ client: Client; origin: string }[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const client = new Client(worker);
      const { echo } = await client.echo(path);
      return { client, origin: echo.origin };
    }),
  );
}

export function tally<T>(items: T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}
