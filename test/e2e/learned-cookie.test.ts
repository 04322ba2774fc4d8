/**
 * A web application whose own session cookie (`JSESSIONID`) is the learned value, and clients that
 * keep that cookie but drop the worker's (an API client, a native app, a privacy setting): sessions
 * stay on the origin that issued them, the application receives its own id byte for byte with every
 * other cookie as the client sent it, and when that origin dies its sessions start over on a survivor
 * and stay there.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tally } from './support/client';
import { SESSION_COOKIE_ATTRIBUTES, SessionAppOrigin, type Visit } from './support/session-app-origin';
import { WorkerUnderTest } from './support/worker-under-test';

const CLIENTS = 12;
const VISITS = 6;

let apps: SessionAppOrigin[];
let worker: WorkerUnderTest;

beforeAll(async () => {
  apps = await Promise.all(['app-1', 'app-2', 'app-3'].map((id) => SessionAppOrigin.start(id)));
  worker = await WorkerUnderTest.start({
    config: {
      origins: apps.map((a) => ({ id: a.id, url: a.url })),
      affinity: { learn: ['cookie:JSESSIONID'] },
      health: { path: '/health', interval: 1, timeout: 1, rise: 2, fall: 2 },
    },
  });
});
afterAll(async () => {
  await worker?.dispose();
  await Promise.all(apps.map((a) => a.stop()));
});

/** Keeps every cookie it is given except the worker's own, and sends one of its own (`lang`). */
class CookieKeepingClient {
  readonly jar = new Map<string, string>([['lang', 'en-GB']]);
  readonly setCookies: string[] = [];
  readonly visits: Visit[] = [];
  readonly sent: string[] = [];

  async visit(): Promise<Visit> {
    const cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
    this.sent.push(cookie);
    const response = await worker.fetch('/visit', { headers: { cookie } });
    for (const line of response.headers.getSetCookie()) {
      this.setCookies.push(line);
      const [name, value] = line.split(';')[0]!.split(/=(.*)/s) as [string, string];
      if (name !== '__affinity') this.jar.set(name, value);
    }
    const visit = (await response.json()) as Visit;
    this.visits.push(visit);
    return visit;
  }

  get origin(): string {
    return this.visits.at(-1)!.origin;
  }
}

let clients: CookieKeepingClient[];

it('keeps each session on the origin that issued its cookie, which gets its own id and every other cookie untouched', async () => {
  clients = Array.from({ length: CLIENTS }, () => new CookieKeepingClient());
  await Promise.all(
    clients.map(async (client) => {
      for (let i = 0; i < VISITS; i++) await client.visit();
    }),
  );
  for (const client of clients) {
    const [first, ...later] = client.visits;
    expect(
      later.map((v) => v.origin),
      'one origin',
    ).toEqual(Array(VISITS - 1).fill(first!.origin));
    expect(
      client.visits.map((v) => v.visits),
      'one session',
    ).toEqual([1, 2, 3, 4, 5, 6]);
    // The client holds an envelope naming the origin, never the application's id…
    const held = client.jar.get('JSESSIONID')!;
    expect(held).not.toContain(first!.session);
    expect(held).toContain(`.${first!.origin}.`);
    // …and the application receives exactly the id it issued, with every other pair as the client sent it.
    for (const [i, visit] of later.entries()) {
      expect(visit.received).toBe(first!.session);
      expect(visit.cookieHeader).toBe(client.sent[i + 1]!.replace(held, first!.session));
      expect(visit.cookieHeader).not.toMatch(/__affinity/);
    }
  }
  expect(new Set(clients.map((c) => c.origin)).size, 'sessions spread over the origins').toBeGreaterThan(1);
});

it('writes the application’s Set-Cookie with the envelope as its value and every attribute as the application wrote it', () => {
  const sessionCookies = clients.flatMap((c) => c.setCookies).filter((line) => line.startsWith('JSESSIONID='));
  expect(sessionCookies).toHaveLength(CLIENTS);
  for (const line of sessionCookies)
    expect(line).toMatch(new RegExp(`^JSESSIONID=1\\.[A-Za-z0-9._-]+; ${SESSION_COOKIE_ATTRIBUTES}$`));
  expect(clients.flatMap((c) => c.setCookies).filter((line) => line.startsWith('theme='))).toEqual(
    Array(CLIENTS).fill('theme=light; Path=/'),
  );
});

it('starts the sessions of a dead origin over on one survivor each, where they stay; the others never notice', async () => {
  const [victim] = [...tally(clients.map((c) => c.origin))].sort((a, b) => b[1] - a[1])[0]!;
  const held = new Map(clients.map((c) => [c, c.visits.at(-1)!]));
  await apps.find((a) => a.id === victim)!.stop();
  await Promise.all(
    clients.map(async (client) => {
      for (let i = 0; i < 3; i++) await client.visit();
    }),
  );
  for (const client of clients) {
    const before = held.get(client)!;
    const after = client.visits.slice(VISITS);
    if (before.origin !== victim) {
      expect(after.map((v) => [v.origin, v.visits])).toEqual([7, 8, 9].map((n) => [before.origin, n]));
      continue;
    }
    // The survivor got the dead origin's id byte for byte, did not know it, and issued its own.
    expect(after[0]!.received).toBe(before.session);
    expect(after.map((v) => v.visits)).toEqual([1, 2, 3]);
    expect(new Set(after.map((v) => v.origin)).size).toBe(1);
    expect(after[0]!.origin).not.toBe(victim);
    expect(after[2]!.received).toBe(after[0]!.session);
  }
  console.log(
    `learned cookie: ${CLIENTS} clients without the affinity cookie, ${CLIENTS * VISITS} visits on their issuing origins; ` +
      `${clients.filter((c) => held.get(c)!.origin === victim).length} sessions of ${victim} started over on ` +
      `${JSON.stringify(Object.fromEntries(tally(clients.filter((c) => held.get(c)!.origin === victim).map((c) => c.origin))))}`,
  );
});
