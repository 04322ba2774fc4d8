/**
 * A real MCP server for the end-to-end tier: node:http on 127.0.0.1, a random port, the SDK's server
 * transport at `/mcp` with its sessions in memory (the demo's own endpoint), `/health` for probes.
 * Stopping it is a crash: open connections are dropped and every session is lost.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpEndpoint } from '../../../scripts/demo/mcp-endpoint';
import { crash, trackConnections } from './crash';

export class McpOrigin {
  readonly endpoint: McpEndpoint;
  port = 0;
  #server?: Server;

  private constructor(readonly id: string) {
    this.endpoint = new McpEndpoint(id);
  }

  static async start(id: string): Promise<McpOrigin> {
    const origin = new McpOrigin(id);
    await origin.#listen();
    return origin;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = crash(server);
    await this.endpoint.forget();
    await closed;
  }

  async #listen(): Promise<void> {
    const server = createServer((request, response) => {
      if (request.url?.startsWith('/mcp')) return void this.endpoint.handle(request, response);
      response.writeHead(request.url === '/health' ? 200 : 404).end();
    });
    trackConnections(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }
}
