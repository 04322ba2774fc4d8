/**
 * MCP through the worker, with the real SDK on both sides: 20 clients (`StreamableHTTPClientTransport`,
 * which keep no cookies and echo `Mcp-Session-Id`) make 10 tool calls each through the worker to three
 * stateful servers (`StreamableHTTPServerTransport`, sessions in memory). With
 * `learn: ["header:mcp-session-id"]` every connect and every call reaches the server that issued the
 * session, the event stream (GET) included; DELETE ends each session where it lives. Then the server
 * holding most sessions dies: the others' sessions see nothing, and its sessions get the server's own
 * "Session not found" from a survivor, start anew and work there.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WhoAmI } from '../../scripts/demo/mcp-endpoint';
import { tally } from './support/client';
import { awaitDecisions, decisionsIn } from './support/decision-log';
import { McpOrigin } from './support/mcp-origin';
import { WorkerUnderTest } from './support/worker-under-test';
import { sleep } from '../support/wait';

const CLIENTS = 20;
const CALLS = 10;
/** Seconds the worker waits for response headers: the event streams must outlive it by far. */
const HEADER_TIMEOUT = 1;

let servers: McpOrigin[];
let worker: WorkerUnderTest;

interface McpUser {
  client: Client;
  transport: StreamableHTTPClientTransport;
  /** Log messages the server sent on its own, through the session's event stream. */
  notes: string[];
  answers: WhoAmI[];
}

beforeAll(async () => {
  servers = await Promise.all(['mcp-1', 'mcp-2', 'mcp-3'].map((id) => McpOrigin.start(id)));
  worker = await WorkerUnderTest.start({
    config: {
      origins: servers.map((s) => ({ id: s.id, url: s.url })),
      // Every decision logged, routine ones too: the test reads how each request was routed.
      affinity: { learn: ['header:mcp-session-id'], decisionLog: 'all' },
      health: { path: '/health', interval: 1, timeout: 1, rise: 2, fall: 2 },
      proxy: { timeout: HEADER_TIMEOUT },
    },
  });
});
afterAll(async () => {
  await Promise.all(users.map((user) => user.client.close()));
  await worker?.dispose();
  await Promise.all(servers.map((s) => s.stop()));
});

/** Connects made, failed ones included. */
let connects = 0;

async function connect(): Promise<McpUser> {
  connects++;
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', worker.url));
  const client = new Client({ name: 'edge-affinity-e2e', version: '1.0.0' });
  const user: McpUser = { client, transport, notes: [], answers: [] };
  client.setNotificationHandler(
    LoggingMessageNotificationSchema,
    (note) => void user.notes.push(String(note.params.data)),
  );
  await client.connect(transport);
  return user;
}

async function whoami(user: McpUser): Promise<WhoAmI> {
  const result = await user.client.callTool({ name: 'whoami' });
  const [content] = result.content as { type: 'text'; text: string }[];
  const answer = JSON.parse(content!.text) as WhoAmI;
  user.answers.push(answer);
  return answer;
}

/**
 * Calls `whoami` until it fails with the server's "Session not found" (404), twice at most; returns the
 * status of each failed call (502: the worker's own answer for a call whose connection broke).
 */
async function untilNotFound(user: McpUser): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < 2 && statuses.at(-1) !== 404; i++) {
    const error = await whoami(user).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof StreamableHTTPError)) throw new Error(`expected the call to fail: ${String(error)}`);
    if (error.code === 404) expect(error.message).toMatch(/Session not found/);
    else expect([error.code, error.message]).toEqual([502, expect.stringMatching(/not idempotent/)]);
    statuses.push(error.code ?? 0);
  }
  return statuses;
}

/** Calls `whoami` `count` times in a row; returns how many calls failed. */
async function callRepeatedly(user: McpUser, count: number): Promise<number> {
  let failed = 0;
  for (let i = 0; i < count; i++) await whoami(user).catch(() => failed++);
  return failed;
}

const serverOf = (user: McpUser) => user.answers[0]?.server;
const sessionsOn = () => Object.fromEntries(servers.map((s) => [s.id, s.endpoint.sessionCount]));
const calls = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

let users: McpUser[] = [];
const figures: string[] = [];

describe('MCP sessions through the worker', () => {
  it('connects 20 SDK clients, and answers all 10 calls of each from the server that issued its session', async () => {
    const settled = await Promise.allSettled(Array.from({ length: CLIENTS }, connect));
    users = settled.flatMap((c) => (c.status === 'fulfilled' ? [c.value] : []));
    const failed = (await Promise.all(users.map((user) => callRepeatedly(user, CALLS)))).reduce((a, b) => a + b, 0);
    figures.push(`${users.length}/${CLIENTS} connects, ${users.length * CALLS - failed}/${CLIENTS * CALLS} calls`);

    expect(users).toHaveLength(CLIENTS);
    expect(failed).toBe(0);
    for (const user of users) {
      expect(user.answers.map((a) => a.call)).toEqual(calls(1, CALLS));
      expect(new Set(user.answers.map((a) => a.server)).size).toBe(1);
    }
    // Each session lives on the server that answered it, and nowhere else: no orphans from connects.
    expect(sessionsOn()).toEqual(
      Object.fromEntries(servers.map((s) => [s.id, users.filter((u) => serverOf(u) === s.id).length])),
    );
    expect(Object.values(sessionsOn()).filter((n) => n > 0).length, 'sessions spread over the servers').toBeGreaterThan(
      1,
    );
    figures.push(`spread ${JSON.stringify(sessionsOn())}`);
  }, 30_000);

  it('streams each session’s event stream (GET) from its own server, unbuffered, long past the header timeout', async () => {
    await expect
      .poll(() => servers.map((s) => s.endpoint.listening), { timeout: 5_000 })
      .toEqual(servers.map((s) => s.endpoint.sessionCount));
    await sleep(HEADER_TIMEOUT * 2_500);
    await Promise.all(servers.map((s) => s.endpoint.notifyAll('hello')));
    await expect
      .poll(() => users.filter((user) => user.notes.includes(`hello from ${serverOf(user)}`)).length, {
        timeout: 2_000,
      })
      .toBe(CLIENTS);
    expect(servers.map((s) => s.endpoint.listening)).toEqual(servers.map((s) => s.endpoint.sessionCount));
    // One stream per session all along: none was cut and re-opened by the client.
    expect(servers.map((s) => s.endpoint.streamsOpened)).toEqual(servers.map((s) => s.endpoint.sessionCount));
  }, 15_000);

  it('when the server holding most sessions dies, leaves the others alone and lets its sessions start anew on a survivor', async () => {
    const [victimId, victimSessions] = [...tally(users.map(serverOf))].sort((a, b) => b[1] - a[1])[0]!;
    await servers.find((s) => s.id === victimId)!.stop();
    const orphans = users.filter((user) => serverOf(user) === victimId);
    const others = users.filter((user) => serverOf(user) !== victimId);

    const undisturbed = await Promise.all(others.map((user) => callRepeatedly(user, 5)));
    // A tool call is a POST: one whose connection broke here (locally, workerd cannot tell a refused
    // connection from one reset after the request) may have run, and is answered 502, not sent on; the
    // isolate then skips the dead server, and the next call gets the survivor's own "Session not found".
    // (On Cloudflare a dead server is Cloudflare's 521 or 522: not reached, sent on at once.)
    const answers = await Promise.all(orphans.map((user) => untilNotFound(user)));
    const notFound = answers.filter((tries) => tries.at(-1) === 404);
    const brokeFirst = answers.filter((tries) => tries[0] === 502);
    await Promise.all(orphans.map((user) => user.client.close()));
    const renewed = await Promise.all(orphans.map(() => connect()));
    const renewedFailures = (await Promise.all(renewed.map((user) => callRepeatedly(user, CALLS)))).reduce(
      (a, b) => a + b,
      0,
    );
    users = [...others, ...renewed];
    figures.push(
      `killed ${victimId} holding ${victimSessions} sessions: the ${others.length} others made ` +
        `${others.length * 5 - undisturbed.reduce((a, b) => a + b, 0)}/${others.length * 5} calls undisturbed; ` +
        `${notFound.length}/${orphans.length} got "Session not found" (404) from a survivor ` +
        `(${brokeFirst.length} after a 502 for the call whose connection broke), ` +
        `${renewed.length}/${orphans.length} reconnected (${JSON.stringify(Object.fromEntries(tally(renewed.map(serverOf))))}) ` +
        `and made ${renewed.length * CALLS - renewedFailures}/${renewed.length * CALLS} calls`,
    );

    expect(undisturbed.every((failed) => failed === 0)).toBe(true);
    for (const user of others) {
      expect(user.answers.map((a) => a.call)).toEqual(calls(1, CALLS + 5));
      expect(new Set(user.answers.map((a) => a.server)).size).toBe(1);
    }
    expect(notFound).toHaveLength(orphans.length);
    expect(renewedFailures).toBe(0);
    for (const user of renewed) {
      expect(user.answers.map((a) => a.call)).toEqual(calls(1, CALLS));
      expect(new Set(user.answers.map((a) => a.server))).not.toContain(victimId);
      expect(new Set(user.answers.map((a) => a.server)).size).toBe(1);
    }
  }, 30_000);

  it('ends every session with DELETE on the server that holds it, and logs which learned name routed each request', async () => {
    await Promise.all(users.map((user) => user.transport.terminateSession()));
    expect(Object.values(sessionsOn())).toEqual([0, 0, 0]);
    const deletes = await awaitDecisions(worker.logs, 0, users.length, (d) => d.method === 'DELETE');
    expect(deletes.map((d) => [d.envelope, d.learned, d.decision, d.status])).toEqual(
      Array(users.length).fill(['valid', 'header:mcp-session-id', 'pinned', 200]),
    );
    const decisions = decisionsIn(worker.logs);
    const routedByEnvelope = decisions.filter((d) => d.envelope === 'valid');
    expect(routedByEnvelope.filter((d) => d.method === 'GET').length).toBeGreaterThanOrEqual(CLIENTS);
    // Only each `initialize` came without an envelope.
    expect(decisions.filter((d) => d.envelope === 'absent')).toHaveLength(connects);
    figures.push(`${decisions.length} decision log lines, ${routedByEnvelope.length} routed by a valid envelope`);
    console.log(`MCP through edge-affinity: ${figures.join('; ')}`);
  }, 15_000);
});
