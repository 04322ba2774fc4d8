/**
 * A plain web application for the end-to-end tier that keeps sessions in process memory under a
 * `JSESSIONID` cookie it issues itself: node:http on 127.0.0.1, a random port. `/visit` counts the
 * session's visits and says what the application received; an unknown or missing session id gets a
 * new session and a new cookie. Stopping it is a crash: connections dropped, sessions lost.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crash, trackConnections } from './crash';

/** What `/visit` answers. */
export interface Visit {
  origin: string;
  /** The session id the application received, exactly; null when it issued a new one. */
  received: string | null;
  /** The session this visit counted for. */
  session: string;
  visits: number;
  /** The `Cookie` header exactly as the application received it. */
  cookieHeader: string | null;
}

/** The attributes the application writes after its session id, to be kept exactly. */
export const SESSION_COOKIE_ATTRIBUTES = 'Path=/; HttpOnly; SameSite=Lax';

export class SessionAppOrigin {
  readonly #sessions = new Map<string, number>();
  #server?: Server;
  port = 0;

  private constructor(readonly id: string) {}

  static async start(id: string): Promise<SessionAppOrigin> {
    const origin = new SessionAppOrigin(id);
    const server = createServer((request, response) => origin.#handle(request, response));
    trackConnections(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin.port = (server.address() as AddressInfo).port;
    origin.#server = server;
    return origin;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Session ids this application issued and still holds. */
  get sessions(): string[] {
    return [...this.#sessions.keys()];
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    this.#sessions.clear();
    await crash(server);
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    if (request.url === '/health') return void response.end('ok');
    const cookieHeader = request.headers.cookie ?? null;
    const received = /(?:^|;\s*)JSESSIONID=([^;]*)/.exec(cookieHeader ?? '')?.[1] ?? null;
    let session = received;
    if (session === null || !this.#sessions.has(session)) {
      session = randomBytes(12).toString('hex').toUpperCase();
      response.setHeader('set-cookie', [`JSESSIONID=${session}; ${SESSION_COOKIE_ATTRIBUTES}`, 'theme=light; Path=/']);
    }
    const visits = (this.#sessions.get(session) ?? 0) + 1;
    this.#sessions.set(session, visits);
    const visit: Visit = { origin: this.id, received, session, visits, cookieHeader };
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=30' });
    response.end(JSON.stringify(visit));
  }
}
