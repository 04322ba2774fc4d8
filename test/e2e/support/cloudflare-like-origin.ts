/**
 * A real origin (node:http on 127.0.0.1) that fails the way an origin behind Cloudflare fails as a
 * Worker's subrequest sees it, and counts what its application executed.
 *
 * Local workerd cannot show production's error answers: there, a subrequest to a dead origin comes
 * back as an answer Cloudflare minted (status 521 for a refused connection, 522 for a connection that
 * timed out, 523 unreachable, 525/526 TLS, 530 with `error code: 1016` for origin DNS or `1033` for a
 * tunnel down: the application never ran), or 520/524 after the origin took the request (it may have
 * run). This origin answers exactly so: status, `error code: …` body, `Server: cloudflare`, a `CF-RAY`.
 * The failures that reach the application (reset after the request was read, no answer, 520, 524)
 * execute the request first; the others never do.
 *
 * Keyed requests (`Idempotency-Key`) are executed once per key in a key store that several origins
 * may share, as an application that honours the key does: the store is what makes `proxy.replay:
 * "keyed"` safe, and without a shared one a key protects nothing.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crash, trackConnections } from './crash';

/** What the origin does with a request, as a Worker on Cloudflare would see it. */
export type EdgeBehaviour =
  | 'serve'
  /** Cloudflare could not get the request to the origin: its own answer, the application never runs. */
  | { notReached: 521 | 522 | 523 | 525 | 526 | 530; errorCode?: number }
  /** The application runs; then its connection breaks (what workerd throws locally). */
  | 'reset-after-read'
  /** The application runs and never answers. */
  | 'hang'
  /** The application runs; then Cloudflare answers 520 (empty answer) or 524 (timed out) instead. */
  | { afterRunning: 520 | 524 };

/** Results of keyed requests by key: shared by the origins that share a key store. */
export type KeyStore = Map<string, string>;

export class CloudflareLikeOrigin {
  behaviour: EdgeBehaviour = 'serve';
  /** How often the application executed each request, by its `x-request-id`. */
  readonly executed = new Map<string, number>();
  port = 0;
  #server?: Server;

  private constructor(
    readonly id: string,
    private readonly keys: KeyStore,
  ) {}

  static async start(id: string, keys: KeyStore = new Map()): Promise<CloudflareLikeOrigin> {
    const origin = new CloudflareLikeOrigin(id, keys);
    const server = createServer((request, response) => void origin.#handle(request, response));
    trackConnections(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin.port = (server.address() as AddressInfo).port;
    origin.#server = server;
    return origin;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    if (this.#server) await crash(this.#server);
    this.#server = undefined;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readAll(request);
    // Probes see a healthy origin: each test is about what one request met.
    if (request.url === '/health') return void response.end('ok');
    const { behaviour } = this;
    if (typeof behaviour === 'object' && 'notReached' in behaviour) {
      return cloudflareAnswer(response, behaviour.notReached, behaviour.errorCode ?? behaviour.notReached);
    }
    const result = this.#execute(request, body);
    if (behaviour === 'reset-after-read') return void request.socket.destroy();
    if (behaviour === 'hang') return;
    if (typeof behaviour === 'object') {
      return cloudflareAnswer(response, behaviour.afterRunning, behaviour.afterRunning);
    }
    response.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': this.id });
    response.end(result);
  }

  /** Runs the request (once per key for a keyed one, across every origin of the key store). */
  #execute(request: IncomingMessage, body: Buffer): string {
    const key = request.headers['idempotency-key'];
    if (typeof key === 'string' && this.keys.has(key)) return this.keys.get(key)!;
    const requestId = String(request.headers['x-request-id'] ?? 'unnamed');
    this.executed.set(requestId, (this.executed.get(requestId) ?? 0) + 1);
    const result = `${this.id} ran ${request.method} ${request.url} (${body.length} bytes)`;
    if (typeof key === 'string') this.keys.set(key, result);
    return result;
  }
}

/** Cloudflare's own error answer to a Worker's subrequest: short plain text, `error code: <n>`. */
function cloudflareAnswer(response: ServerResponse, status: number, errorCode: number): void {
  response.writeHead(status, {
    'content-type': 'text/plain; charset=UTF-8',
    server: 'cloudflare',
    'cf-ray': `${randomBytes(8).toString('hex')}-LHR`,
  });
  response.end(`error code: ${errorCode}`);
}

function readAll(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}
