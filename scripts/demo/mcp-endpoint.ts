/**
 * A stateful Model Context Protocol endpoint (Streamable HTTP, the SDK's own server transport), the
 * kind of server `affinity.learn` exists for: each session lives in this process's memory, under the
 * `Mcp-Session-Id` this process issued in its answer to `initialize`, and nowhere else. A request for
 * a session it does not hold gets the SDK's "Session not found" (404), and the client starts anew.
 *
 * One tool, `whoami`: which server answered, and how many calls this session has made so far.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

interface McpSession {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  calls: number;
  /** Server-sent event streams (the GET that listens for the server's own messages) open now. */
  streams: number;
}

/** What `whoami` answers, as JSON text. */
export interface WhoAmI {
  server: string;
  /** This session's calls of `whoami`, this one included: 1, 2, 3… while the session lives. */
  call: number;
}

export class McpEndpoint {
  readonly #sessions = new Map<string, McpSession>();
  /** Event streams opened so far: a client opens one per session, and again only if it was cut. */
  streamsOpened = 0;

  constructor(readonly serverId: string) {}

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Sessions whose event stream is open right now. */
  get listening(): number {
    return [...this.#sessions.values()].filter((session) => session.streams > 0).length;
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const id = request.headers['mcp-session-id'];
    if (typeof id !== 'string') return this.#open(request, response);
    const session = this.#sessions.get(id);
    if (!session) return notFound(response);
    if (request.method === 'GET') {
      session.streams++;
      this.streamsOpened++;
      response.on('close', () => session.streams--);
    }
    await session.transport.handleRequest(request, response);
  }

  /** A log message to every session, through its event stream: a message no request asked for. */
  async notifyAll(text: string): Promise<void> {
    await Promise.all(
      [...this.#sessions.values()].map((session) =>
        session.server.sendLoggingMessage({ level: 'info', data: `${text} from ${this.serverId}` }),
      ),
    );
  }

  /** Forgets every session, as a crashed process does. */
  async forget(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map((session) => session.transport.close()));
  }

  /** A request without a session id: `initialize` opens one; anything else the transport refuses. */
  async #open(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const server = this.#createServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void this.#sessions.set(id, { transport, server, calls: 0, streams: 0 }),
      onsessionclosed: (id) => void this.#sessions.delete(id),
    });
    await server.connect(transport);
    await transport.handleRequest(request, response);
    if (!transport.sessionId) await transport.close();
  }

  #createServer(): McpServer {
    const server = new McpServer(
      { name: `edge-affinity-demo-${this.serverId}`, version: '1.0.0' },
      { capabilities: { logging: {} } },
    );
    server.registerTool(
      'whoami',
      { description: 'Which server answered, and how many calls this session has made (this one included).' },
      (extra) => {
        const session = extra.sessionId === undefined ? undefined : this.#sessions.get(extra.sessionId);
        const answer: WhoAmI = { server: this.serverId, call: session ? ++session.calls : 0 };
        return { content: [{ type: 'text', text: JSON.stringify(answer) }] };
      },
    );
    return server;
  }
}

/** The answer the SDK's own examples give for a session this process does not hold. */
function notFound(response: ServerResponse): void {
  response.writeHead(404, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
}
