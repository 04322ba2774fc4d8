/**
 * A real origin server for the end-to-end tier: node:http on 127.0.0.1, a random port, and a memory
 * of every request it received. It can be stopped (every open connection dropped, as a crash would)
 * and restarted on the same port.
 */
import { createHash } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { crash, trackConnections } from './crash';
import { HOSTILE_APP_PAGE } from './hostile-app-page';
import { sleep } from '../../support/wait';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What the default route answers: the request as the origin saw it. */
export interface Echo {
  origin: string;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bodyLength: number;
  bodySha256: string;
}

export class EchoOrigin {
  readonly seen: SeenRequest[] = [];
  /** Requests whose body was cut off before it was complete: the connection dropped half way. */
  readonly cut: { method: string; url: string; received: number }[] = [];
  /** Every request as soon as its head arrived, before its body: complete, cut or still coming. */
  readonly arrived: { method: string; url: string }[] = [];
  port = 0;
  /** What it says in `Affinity-Control` on an answer to `url` (nothing when undefined); probes excepted. */
  says: (url: string) => string | undefined = () => undefined;
  /** Milliseconds it takes to answer any request (a slow origin), probes included. */
  delayMs = 0;
  #server?: Server;
  readonly #webSockets = new WebSocketServer({ noServer: true });

  private constructor(readonly id: string) {}

  static async start(id: string): Promise<EchoOrigin> {
    const origin = new EchoOrigin(id);
    await origin.listen(0);
    return origin;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  /** Requests other than health probes. */
  traffic(probePath = '/health'): SeenRequest[] {
    return this.seen.filter((request) => !request.url.startsWith(probePath));
  }

  /** Stops like a crash: the listener closes and every open connection is dropped. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await crash(server);
  }

  async restart(): Promise<void> {
    if (!this.#server) await this.listen(this.port);
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((request, response) => void this.handle(request, response));
    trackConnections(server);
    server.on('upgrade', (request, socket, head) => {
      this.seen.push({
        method: request.method ?? 'GET',
        url: request.url ?? '/',
        headers: request.headers,
        body: Buffer.alloc(0),
      });
      this.#webSockets.handleUpgrade(request, socket, head, (ws) => {
        ws.on('message', (data) => ws.send(`${this.id}:${data.toString()}`));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    const url = request.url ?? '/';
    this.arrived.push({ method: request.method ?? 'GET', url });
    try {
      for await (const chunk of request) chunks.push(chunk as Buffer);
    } catch {
      const received = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
      return void this.cut.push({ method: request.method ?? 'GET', url, received });
    }
    const body = Buffer.concat(chunks);
    this.seen.push({ method: request.method ?? 'GET', url, headers: request.headers, body });
    if (url.startsWith('/hang')) return; // takes the request and never answers
    if (this.delayMs > 0) await sleep(this.delayMs);
    response.setHeader('x-served-by', this.id);
    const said = url.startsWith('/health') ? undefined : this.says(url);
    if (said !== undefined) response.setHeader('affinity-control', said);
    if (url.startsWith('/set-cookies')) {
      response.setHeader('set-cookie', ['app_session=abc; Path=/; HttpOnly', 'theme=dark; Path=/']);
      return void response.end('cookies');
    }
    if (url.startsWith('/app-page')) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return void response.end(HOSTILE_APP_PAGE);
    }
    if (url.startsWith('/redirect')) {
      response.writeHead(302, { location: '/elsewhere' });
      return void response.end();
    }
    const status = /^\/status\/(\d{3})/.exec(url);
    if (status) {
      response.writeHead(Number(status[1]), { 'content-type': 'text/plain' });
      return void response.end(`status ${status[1]} from ${this.id}`);
    }
    const echo: Echo = {
      origin: this.id,
      method: request.method ?? 'GET',
      url,
      headers: request.headers,
      bodyLength: body.length,
      bodySha256: createHash('sha256').update(body).digest('hex'),
    };
    response.writeHead(200, { 'content-type': 'application/json', 'x-custom': 'from-origin' });
    response.end(JSON.stringify(echo));
  }
}
