/**
 * `affinity.learn` inside workerd: what the client receives in place of a value an origin issued,
 * what the origin receives back, what routes, what passes through, what it costs, what is logged.
 * Origins are simulated (support.ts); routing when origins fail is in learned-routing.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { affinityCookie, freshWorker, seedConfig, stubOrigins, type OriginBehaviour } from './support';

const ORIGINS = ['one', 'two', 'three', 'four'].map((name) => ({ id: name, url: `http://${name}` }));
const LEARN = ['header:mcp-session-id', 'cookie:JSESSIONID'];
const hostOf = (request: Request) => new URL(request.url).hostname;

/** What each simulated origin issued, in order. */
let issued: { origin: string; value: string }[];

/**
 * An application that issues its own session ids: `Mcp-Session-Id` on /mcp (on every answer, as MCP
 * servers do), a `JSESSIONID` cookie among others on /login, nothing elsewhere.
 */
function sessionApp(name: string): OriginBehaviour {
  return (request) => {
    const path = new URL(request.url).pathname;
    const headers = new Headers({ 'x-served-by': name, 'cache-control': 'public, max-age=60' });
    const issue = () => {
      const value = `${name}:${crypto.randomUUID()}`;
      issued.push({ origin: name, value });
      return value;
    };
    if (path === '/mcp') headers.set('mcp-session-id', request.headers.get('mcp-session-id') ?? issue());
    if (path === '/login') {
      headers.append('set-cookie', 'theme=dark; Path=/; Max-Age=600');
      headers.append('set-cookie', `JSESSIONID=${issue()};Path=/app;  HttpOnly;Expires=Wed, 21 Oct 2026 07:28:00 GMT`);
      headers.append('set-cookie', 'tracking="a b"; Path=/');
    }
    if (path === '/logout') headers.append('set-cookie', 'JSESSIONID=; Path=/app; Max-Age=0');
    return new Response(`served by ${name}`, { headers });
  };
}

const everyApp = () => Object.fromEntries(ORIGINS.map((o) => [o.id, sessionApp(o.id)]));

beforeEach(async () => {
  issued = [];
  await seedConfig({ origins: ORIGINS, affinity: { learn: LEARN, decisionHeader: true } });
});
afterEach(() => vi.restoreAllMocks());

/** An MCP client's first request: no cookie, no session id. */
async function openMcpSession(worker = freshWorker()) {
  const response = await worker.fetch('http://proxy.test/mcp', { method: 'POST', body: '{"method":"initialize"}' });
  return { envelope: response.headers.get('mcp-session-id')!, origin: response.headers.get('x-served-by')!, response };
}

function requestLines(log: { mock: { calls: unknown[][] } }) {
  return log.mock.calls.map(([line]) => JSON.parse(String(line))).filter((line) => line.event === 'request');
}

describe('a learned header', () => {
  it('reaches the client as an envelope naming the serving origin, never as the origin’s value', async () => {
    stubOrigins(everyApp());
    const { envelope, origin } = await openMcpSession();
    expect(issued).toEqual([{ origin, value: expect.any(String) }]);
    expect(envelope).not.toContain(issued[0]!.value);
    expect(envelope).toMatch(new RegExp(`^1\\.[A-Za-z0-9_-]{6}\\.${origin}\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$`));
  });

  it('routes every later request of the session to the issuing origin, which gets its own value byte for byte', async () => {
    stubOrigins(everyApp());
    const { envelope, origin } = await openMcpSession();
    const seen = stubOrigins(everyApp());
    for (const method of ['POST', 'GET', 'DELETE', 'POST', 'GET']) {
      // A fresh isolate each time: nothing but the envelope can say where the session lives.
      const response = await freshWorker().fetch('http://proxy.test/mcp', {
        method,
        headers: { 'mcp-session-id': envelope },
        ...(method === 'POST' ? { body: '{"method":"tools/call"}' } : {}),
      });
      expect(response.headers.get('x-served-by'), method).toBe(origin);
      expect(response.headers.get('x-affinity-decision')).toBe(
        `pinned; origin=${origin}; cookie=absent; envelope=valid; learned=header:mcp-session-id`,
      );
    }
    expect(seen.map(hostOf)).toEqual(Array(5).fill(origin));
    expect(seen.map((r) => r.headers.get('mcp-session-id'))).toEqual(Array(5).fill(issued[0]!.value));
  });

  it('spreads new sessions over the origins', async () => {
    stubOrigins(everyApp());
    const worker = freshWorker();
    const origins = new Set<string>();
    for (let i = 0; i < 24; i++) origins.add((await openMcpSession(worker)).origin);
    expect(origins.size).toBeGreaterThan(2);
  });
});

describe('a learned cookie', () => {
  it('has its value sealed in Set-Cookie, every attribute as the origin wrote it, every other Set-Cookie untouched', async () => {
    stubOrigins(everyApp());
    const response = await freshWorker().fetch('http://proxy.test/login');
    const origin = response.headers.get('x-served-by')!;
    const lines = response.headers.getSetCookie().filter((line) => !line.startsWith('__affinity='));
    expect(lines).toEqual([
      'theme=dark; Path=/; Max-Age=600',
      expect.stringMatching(/^JSESSIONID=1\.[^;]+;Path=\/app; {2}HttpOnly;Expires=Wed, 21 Oct 2026 07:28:00 GMT$/),
      'tracking="a b"; Path=/',
    ]);
    expect(lines[1]).not.toContain(issued[0]!.value);
    expect(lines[1]).toContain(`.${origin}.`);
  });

  it('routes by the envelope inside Cookie, and the origin gets that one pair back with every other pair untouched', async () => {
    stubOrigins(everyApp());
    const login = await freshWorker().fetch('http://proxy.test/login');
    const origin = login.headers.get('x-served-by')!;
    const envelope = /JSESSIONID=([^;]+)/.exec(login.headers.getSetCookie().join('\n'))![1]!;
    const seen = stubOrigins(everyApp());
    const cookie = `theme=dark;  JSESSIONID=${envelope} ; tracking="a b";JSESSIONID=second`;
    const response = await freshWorker().fetch('http://proxy.test/app/cart', { headers: { cookie } });
    expect(response.headers.get('x-served-by')).toBe(origin);
    expect(seen[0]!.headers.get('cookie')).toBe(
      `theme=dark;  JSESSIONID=${issued[0]!.value} ; tracking="a b";JSESSIONID=second`,
    );
  });

  it('never lets an envelope replace a header the worker sets itself', async () => {
    await seedConfig({ origins: ORIGINS, affinity: { learn: ['header:x-forwarded-for', 'header:x-real-ip'] } });
    const issues = { 'x-forwarded-for': '10.9.9.9', 'x-real-ip': '10.9.9.9' };
    stubOrigins(
      Object.fromEntries(
        ORIGINS.map((o) => [o.id, () => new Response('ok', { headers: { ...issues, 'x-served-by': o.id } })]),
      ),
    );
    const answer = await freshWorker().fetch('http://proxy.test/');
    const sealed = { forwardedFor: answer.headers.get('x-forwarded-for')!, realIp: answer.headers.get('x-real-ip')! };
    expect([sealed.forwardedFor, sealed.realIp]).toEqual([
      expect.stringMatching(/^1\./),
      expect.stringMatching(/^1\./),
    ]);
    const seen = stubOrigins(everyApp());
    await freshWorker().fetch('http://proxy.test/', {
      headers: {
        'x-forwarded-for': sealed.forwardedFor,
        'x-real-ip': sealed.realIp,
        'cf-connecting-ip': '203.0.113.9',
      },
    });
    // One the worker sets keeps the worker's value; one it removes stays removed.
    expect(seen[0]!.headers.get('x-forwarded-for')).toBe('203.0.113.9');
    expect(seen[0]!.headers.has('x-real-ip')).toBe(false);
  });

  it('leaves a cookie being deleted (an empty value) as the origin wrote it', async () => {
    stubOrigins(everyApp());
    const response = await freshWorker().fetch('http://proxy.test/logout');
    expect(response.headers.getSetCookie()).toContain('JSESSIONID=; Path=/app; Max-Age=0');
  });
});

describe('what is not a valid envelope', () => {
  it('passes through untouched and routes as before: a tampered envelope, a plain value, an envelope of another name', async () => {
    stubOrigins(everyApp());
    const { envelope } = await openMcpSession();
    const tampered = envelope.replace(/\.[^.]+\.([^.]+)$/, '.dGFtcGVyZWQ.$1');
    const cases = [
      { headers: { 'mcp-session-id': tampered }, expected: 'tampered', sent: ['mcp-session-id', tampered] },
      { headers: { 'mcp-session-id': 'plain-uuid' }, expected: 'plain', sent: ['mcp-session-id', 'plain-uuid'] },
      {
        headers: { cookie: `JSESSIONID=${envelope}` },
        expected: 'tampered',
        sent: ['cookie', `JSESSIONID=${envelope}`],
      },
    ] as const;
    for (const { headers, expected, sent } of cases) {
      const seen = stubOrigins(everyApp());
      const response = await freshWorker().fetch('http://proxy.test/page', { headers });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-affinity-decision'), expected).toMatch(
        new RegExp(`^new; .*envelope=${expected};`),
      );
      expect(seen[0]!.headers.get(sent[0])).toBe(sent[1]);
      expect(affinityCookie(response), 'a new session gets its cookie as always').toBeDefined();
    }
  });

  it('changes nothing at all without affinity.learn: values go out as the origin sent them, logs have no envelope field', async () => {
    await seedConfig({ origins: ORIGINS, affinity: { decisionHeader: true } });
    stubOrigins(everyApp());
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const { envelope, response } = await openMcpSession();
    expect(envelope).toBe(issued[0]!.value);
    expect(response.headers.get('x-affinity-decision')).not.toMatch(/envelope/);
    expect(requestLines(log)[0]).not.toHaveProperty('envelope');
  });
});

describe('when a browser carries both the affinity cookie and an envelope', () => {
  it('lets the envelope win, and re-issues the cookie to agree with it', async () => {
    stubOrigins(everyApp());
    const worker = freshWorker();
    const { envelope, origin } = await openMcpSession(worker);
    // A cookie pinned somewhere else: open sessions until one lands elsewhere.
    let cookie = '';
    while (!cookie) {
      const response = await worker.fetch('http://proxy.test/page');
      if (response.headers.get('x-served-by') !== origin) cookie = affinityCookie(response)!;
    }
    const both = await worker.fetch('http://proxy.test/mcp', { headers: { cookie, 'mcp-session-id': envelope } });
    expect(both.headers.get('x-served-by')).toBe(origin);
    expect(both.headers.get('x-affinity-decision')).toMatch(/^pinned; .*cookie=valid; envelope=valid;/);
    const agreeing = affinityCookie(both)!;
    expect(agreeing).toBeDefined();
    const cookieAlone = await worker.fetch('http://proxy.test/page', { headers: { cookie: agreeing } });
    expect(cookieAlone.headers.get('x-served-by')).toBe(origin);
  });
});

describe('cost and caching', () => {
  it('sends a client routed by its envelope, with no affinity cookie, no Set-Cookie and no new signature', async () => {
    stubOrigins(everyApp());
    const { envelope, response } = await openMcpSession();
    expect(affinityCookie(response), 'the first answer opens a session as always').toBeDefined();
    const worker = freshWorker();
    await worker.fetch('http://proxy.test/mcp', { headers: { 'mcp-session-id': envelope } }); // keys imported
    const sign = vi.spyOn(crypto.subtle, 'sign');
    const verify = vi.spyOn(crypto.subtle, 'verify');
    const steady = await worker.fetch('http://proxy.test/mcp', { headers: { 'mcp-session-id': envelope } });
    expect(steady.headers.getSetCookie()).toEqual([]);
    expect(steady.headers.get('mcp-session-id'), 'the envelope the client holds comes back').toBe(envelope);
    expect(sign).not.toHaveBeenCalled();
    expect(verify, 'an envelope this isolate opened before is not verified again').not.toHaveBeenCalled();
  });

  it('keeps a response that hands out an envelope out of shared caches, and leaves the others’ caching alone', async () => {
    stubOrigins(everyApp());
    const { envelope, response } = await openMcpSession();
    expect(response.headers.get('cache-control')).toBe('private, max-age=60');
    const sealedHeader = await freshWorker().fetch('http://proxy.test/mcp', {
      headers: { 'mcp-session-id': envelope },
    });
    expect(sealedHeader.headers.getSetCookie()).toEqual([]);
    expect(sealedHeader.headers.get('cache-control')).toBe('private, max-age=60');
    const noLearnedName = await freshWorker().fetch('http://proxy.test/page', {
      headers: { 'mcp-session-id': envelope },
    });
    expect(noLearnedName.headers.get('cache-control')).toBe('public, max-age=60');
  });

  it('passes a value over 2048 bytes through unsealed and logs its name and size, never the value', async () => {
    const long = 'L'.repeat(2049);
    stubOrigins({ one: () => new Response('ok', { headers: { 'mcp-session-id': long } }) });
    await seedConfig({ origins: [ORIGINS[0]], affinity: { learn: LEARN } });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const response = await freshWorker().fetch('http://proxy.test/mcp');
    expect(response.headers.get('mcp-session-id')).toBe(long);
    const lines = warn.mock.calls.map(([line]) => JSON.parse(String(line)));
    expect(lines).toEqual([
      {
        level: 'warn',
        event: 'learn.value-too-long',
        learned: 'header:mcp-session-id',
        bytes: 2049,
        limit: 2048,
        origin: 'one',
      },
    ]);
  });
});

describe('the decision log', () => {
  it('says which learned name routed the request and how, and never holds an envelope or a value', async () => {
    await seedConfig({ origins: ORIGINS, affinity: { learn: LEARN, decisionLog: 'all' } });
    stubOrigins(everyApp());
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const { envelope, origin } = await openMcpSession();
    await freshWorker().fetch('http://proxy.test/mcp', { headers: { 'mcp-session-id': envelope } });
    expect(requestLines(log)).toEqual([
      expect.objectContaining({ origin, decision: 'new', cookie: 'absent', envelope: 'absent' }),
      expect.objectContaining({
        origin,
        decision: 'pinned',
        cookie: 'absent',
        envelope: 'valid',
        learned: 'header:mcp-session-id',
      }),
    ]);
    const text = log.mock.calls.flat().join('\n');
    expect(text).not.toContain(envelope);
    expect(text).not.toContain(issued[0]!.value);
    expect(text).not.toContain(envelope.split('.')[3]!);
  });

  it('with decisionLog "changes", leaves out routine requests routed by an envelope, and keeps a tampered one', async () => {
    await seedConfig({ origins: ORIGINS, affinity: { learn: LEARN, decisionLog: 'changes' } });
    stubOrigins(everyApp());
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const { envelope } = await openMcpSession();
    const worker = freshWorker();
    await worker.fetch('http://proxy.test/mcp', { headers: { 'mcp-session-id': envelope } });
    await worker.fetch('http://proxy.test/mcp', {
      headers: { 'mcp-session-id': `${envelope.slice(0, -1)}${envelope.endsWith('A') ? 'B' : 'A'}` },
    });
    expect(requestLines(log).map((line) => [line.decision, line.envelope])).toEqual([
      ['new', 'absent'],
      ['new', 'tampered'],
    ]);
  });
});
