/**
 * The failover rule end to end: the bundled worker in front of real origins that fail as origins
 * behind Cloudflare do (support/cloudflare-like-origin.ts: Cloudflare's own 52x/530 answers, a
 * connection reset after the request was read, no answer, 520 and 524 after the application ran),
 * each counting how often its application executed every request.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Client } from './support/client';
import { CloudflareLikeOrigin, type EdgeBehaviour, type KeyStore } from './support/cloudflare-like-origin';
import { decisionsIn } from './support/decision-log';
import { DEFAULT_SECRETS, WorkerUnderTest } from './support/worker-under-test';
import { claimsOf } from '../support/affinity-claims';

const HEADER_TIMEOUT = 0.5;

let origins: CloudflareLikeOrigin[];
let worker: WorkerUnderTest;
/** Execution counts of every test, for the figures printed at the end. */
const figures: string[] = [];

async function start(replay?: 'safe' | 'keyed' | 'always') {
  const keys: KeyStore = new Map(); // one key store for all three: what "keyed" requires of the origins
  origins = await Promise.all(['app-1', 'app-2', 'app-3'].map((id) => CloudflareLikeOrigin.start(id, keys)));
  worker = await WorkerUnderTest.start({
    config: {
      origins: origins.map((o) => ({ id: o.id, url: o.url })),
      affinity: { decisionLog: 'all' },
      health: { path: '/health', interval: 1, timeout: 1 },
      proxy: { timeout: HEADER_TIMEOUT, ...(replay ? { replay } : {}) },
    },
  });
}

beforeEach(() => start());
afterAll(() => console.log(`failover rule, executions per request:\n  ${figures.join('\n  ')}`));
afterEach(async () => {
  await worker.dispose();
  await Promise.all(origins.map((o) => o.stop()));
});

/** A session pinned to some origin, that origin then failing as `behaviour` says. */
async function sessionWhoseOrigin(behaviour: EdgeBehaviour) {
  const client = new Client(worker);
  const opened = await client.request('/');
  const victim = origins.find((o) => o.id === opened.servedBy)!;
  victim.behaviour = behaviour;
  return { client, victim };
}

/** Sends one request with its own id; returns the answer and how often each origin's application ran it. */
async function send(client: Client, method: string, headers: Record<string, string> = {}) {
  const requestId = randomUUID();
  const body = method === 'GET' ? undefined : 'one espresso, two croissants';
  const exchange = await client.request('/order', { method, body, headers: { 'x-request-id': requestId, ...headers } });
  const executions = Object.fromEntries(origins.map((o) => [o.id, o.executed.get(requestId) ?? 0]));
  const total = Object.values(executions).reduce((a, b) => a + b, 0);
  return { ...exchange, executions, total };
}

/** The origin the client's affinity cookie pins it to. */
const pinOf = async (client: Client) =>
  (await claimsOf(client.affinityToken!, DEFAULT_SECRETS.AFFINITY_SECRET!)).originId;

describe('an origin Cloudflare cannot reach', () => {
  const NOT_REACHED: EdgeBehaviour[] = [
    { notReached: 521 },
    { notReached: 522 },
    { notReached: 523 },
    { notReached: 525 },
    { notReached: 526 },
    { notReached: 530, errorCode: 1016 },
    { notReached: 530, errorCode: 1033 },
  ];

  it.each(NOT_REACHED)(
    'moves a POST on to the next origin, where it runs once: $notReached ($errorCode)',
    async (behaviour) => {
      const { client, victim } = await sessionWhoseOrigin(behaviour);
      const { response, text, servedBy, executions, total } = await send(client, 'POST');
      expect(response.status, 'the client never sees Cloudflare’s page').toBe(200);
      expect(text).not.toMatch(/error code/);
      expect(executions[victim.id]).toBe(0);
      expect(total).toBe(1);
      expect(await pinOf(client)).toBe(servedBy);
      figures.push(
        `${JSON.stringify(behaviour)}: POST executed ${total}×, on ${servedBy}, answered ${response.status}`,
      );
    },
  );

  it('logs the attempt as not reached, with Cloudflare’s status, and the move as cf-521', async () => {
    const { client, victim } = await sessionWhoseOrigin({ notReached: 521 });
    const mark = worker.logs.length;
    await send(client, 'POST');
    const [decision] = decisionsIn(worker.logs.slice(mark)).filter((d) => d.path === '/order');
    expect(decision).toMatchObject({
      decision: 'repinned',
      reason: 'cf-521',
      attempts: [{ origin: victim.id, kind: 'not-reached', reason: 'cf-521', status: 521 }],
    });
  });
});

describe('an origin that may have run the request', () => {
  const MAY_HAVE_REACHED: { behaviour: EdgeBehaviour; status: number; moves: boolean }[] = [
    { behaviour: 'reset-after-read', status: 502, moves: true },
    { behaviour: 'hang', status: 504, moves: false },
    { behaviour: { afterRunning: 520 }, status: 502, moves: true },
    { behaviour: { afterRunning: 524 }, status: 504, moves: false },
  ];

  it.each(MAY_HAVE_REACHED)('executes a POST once: $status after $behaviour', async ({ behaviour, status, moves }) => {
    const { client, victim } = await sessionWhoseOrigin(behaviour);
    const { response, executions, total } = await send(client, 'POST');
    expect(response.status).toBe(status);
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(executions[victim.id]).toBe(1);
    expect(total, 'never twice').toBe(1);
    if (moves) expect(await pinOf(client), 'its connection broke: the retry goes elsewhere').not.toBe(victim.id);
    else expect(await pinOf(client), 'only slow: the session stays').toBe(victim.id);
    figures.push(`${JSON.stringify(behaviour)}: POST executed ${total}×, answered ${status}`);
  });

  it.each(MAY_HAVE_REACHED)('moves a GET on after $behaviour', async ({ behaviour }) => {
    const { client, victim } = await sessionWhoseOrigin(behaviour);
    const { response, servedBy, executions, total } = await send(client, 'GET');
    expect(response.status).toBe(200);
    expect(servedBy).not.toBe(victim.id);
    expect(executions[victim.id]).toBe(1);
    expect(total, 'the victim and one survivor, no more').toBe(2);
  });

  it('moves a keyed POST on with replay "keyed", and it runs once: the origins share their key store', async () => {
    await worker.dispose();
    await Promise.all(origins.map((o) => o.stop()));
    await start('keyed');
    const { client, victim } = await sessionWhoseOrigin('reset-after-read');
    const keyed = await send(client, 'POST', { 'idempotency-key': `"${randomUUID()}"` });
    expect(keyed.response.status).toBe(200);
    expect(keyed.servedBy).not.toBe(victim.id);
    expect(keyed.total, 'the survivor found the key the victim stored').toBe(1);
    const unkeyed = await send(client, 'POST');
    expect(unkeyed.response.status, 'its session moved: the survivor answers').toBe(200);
    figures.push(`replay "keyed": a keyed POST after a reset moved on and executed ${keyed.total}×`);
  });

  it('does not move a keyed POST on without replay "keyed"', async () => {
    const { client } = await sessionWhoseOrigin('reset-after-read');
    const { response, total } = await send(client, 'POST', { 'idempotency-key': `"${randomUUID()}"` });
    expect(response.status).toBe(502);
    expect(total).toBe(1);
  });
});
