/**
 * `npm run demo:mcp`: an MCP client — the official SDK's, which keeps no cookies — talking to the
 * demo's MCP servers through the worker. It opens a session, calls `whoami` once a second and prints
 * which origin answered and the session's call count, then ends the session with DELETE.
 *
 * Stop the origin that holds the session (its number key in the demo's terminal) while it runs: that
 * origin's sessions are gone with it, the next call gets the server's own "Session not found", and
 * the client opens a new session on a survivor, as MCP clients do. A call that was on its way when the
 * origin died may get the worker's 502 instead: a tool call is a POST, and one whose connection broke
 * may have run, so the worker does not send it to another server (README, "Replays and side
 * effects"); this client says so and calls again.
 *
 *   npm run demo:mcp -- [url, default http://127.0.0.1:8787/mcp] [calls, default 10]
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { WhoAmI } from './mcp-endpoint';

const url = new URL(process.argv[2] ?? 'http://127.0.0.1:8787/mcp');
const calls = Number(process.argv[3] ?? 10);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Connection {
  client: Client;
  transport: StreamableHTTPClientTransport;
}

async function connect(): Promise<Connection> {
  const transport = new StreamableHTTPClientTransport(url);
  const client = new Client({ name: 'edge-affinity-demo-client', version: '1.0.0' });
  await client.connect(transport);
  // What the client holds is the worker's envelope: the origin's opaque id and the server's own session id, signed.
  console.log(`  connected; Mcp-Session-Id is an envelope: ${transport.sessionId!.slice(0, 40)}…`);
  return { client, transport };
}

async function whoami({ client }: Connection): Promise<WhoAmI> {
  const result = await client.callTool({ name: 'whoami' });
  const [content] = result.content as { type: 'text'; text: string }[];
  return JSON.parse(content!.text) as WhoAmI;
}

async function main(): Promise<void> {
  console.log(`MCP client → ${url.href}`);
  let connection = await connect();
  for (let i = 0; i < calls; i++) {
    try {
      const answer = await whoami(connection);
      console.log(`  whoami → ${answer.server}, call ${answer.call} of this session`);
    } catch (error) {
      if (!(error instanceof StreamableHTTPError)) throw error;
      if (error.code === 502) {
        console.log('  502: the connection broke while the call was on its way (it may have run): calling again');
      } else if (error.code === 404) {
        console.log('  the server answered "Session not found": its origin went away; starting a new session');
        await connection.client.close();
        connection = await connect();
      } else throw error;
    }
    await sleep(1000);
  }
  await connection.transport.terminateSession();
  await connection.client.close();
  console.log('  session ended (DELETE, routed to the origin that holds it)');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
