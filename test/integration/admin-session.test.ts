/**
 * The admin session: a person signs in to the status page with a form and holds an HttpOnly cookie
 * that opens the pages on top-level navigations only. Scripts of the proxied application run on the
 * same origin: none of what they can send (fetch, XHR, frames, form posts) may be authenticated by it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { answersWith, freshWorker, seedConfig, stubOrigins, testEnv } from './support';

const TOKEN = 'integration-admin-token';
const ORIGINS = ['one', 'two'].map((id) => ({ id, url: `http://${id}` }));
const HTTP = 'http://proxy.test';
const HTTPS = 'https://proxy.test';

/** What a browser sends for an address typed, a link, a reload or a `<meta http-equiv="refresh">`. */
const NAVIGATION = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
  'sec-fetch-site': 'same-origin',
};

type Worker = ReturnType<typeof freshWorker>;

/** The sign-in form as a browser posts it. */
function postSignIn(worker: Worker, token: string, base = HTTP) {
  return worker.fetch(`${base}/_affinity/session`, {
    method: 'POST',
    headers: { ...NAVIGATION, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
}

/** The `name=value` the browser would send back. */
async function signIn(worker: Worker, base = HTTP, token = TOKEN): Promise<string> {
  const response = await postSignIn(worker, token, base);
  expect(response.status).toBe(303);
  return response.headers.getSetCookie()[0]!.split(';')[0]!;
}

function openStatusPage(worker: Worker, cookie: string, headers: Record<string, string> = NAVIGATION, base = HTTP) {
  return worker.fetch(`${base}/_affinity/status`, { headers: { ...headers, cookie } });
}

/** The attributes of a `Set-Cookie`, in a stable order. */
function attributes(setCookie: string): string[] {
  return setCookie
    .split(';')
    .slice(1)
    .map((a) => a.trim())
    .sort();
}

beforeEach(async () => {
  await seedConfig({ origins: ORIGINS });
  stubOrigins(Object.fromEntries(ORIGINS.map((o) => [o.id, answersWith(o.id)])));
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('signing in with the form', () => {
  it('answers 303 to the status page with an HttpOnly, SameSite=Strict cookie on /_affinity for an hour (http)', async () => {
    const response = await postSignIn(freshWorker(), TOKEN);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/_affinity/status');
    const [setCookie, ...others] = response.headers.getSetCookie();
    expect(others).toEqual([]);
    expect(setCookie).toMatch(/^edge-affinity-admin=[^;]+;/);
    expect(attributes(setCookie!)).toEqual(['HttpOnly', 'Max-Age=3600', 'Path=/_affinity', 'SameSite=Strict']);
  });

  it('names the cookie __Secure- and marks it Secure on https', async () => {
    const response = await postSignIn(freshWorker(), TOKEN, HTTPS);
    const [setCookie] = response.headers.getSetCookie();
    expect(setCookie).toMatch(/^__Secure-edge-affinity-admin=[^;]+;/);
    expect(attributes(setCookie!)).toEqual([
      'HttpOnly',
      'Max-Age=3600',
      'Path=/_affinity',
      'SameSite=Strict',
      'Secure',
    ]);
  });

  it.each([
    ['a wrong token', 'not-the-token'],
    ['an empty token', ''],
    ['a token over the form size limit', 'x'.repeat(5000)],
  ])('refuses %s with 401 and the sign-in page, and sets nothing', async (_, token) => {
    const response = await postSignIn(freshWorker(), token);
    expect(response.status).toBe(401);
    expect(response.headers.getSetCookie()).toEqual([]);
    const html = await response.text();
    expect(html).toContain('That token was refused.');
    expect(html).toContain('<form id="sign-in" method="post" action="/_affinity/session">');
  });

  it('refuses a form without a token field, and a token sent as JSON', async () => {
    const worker = freshWorker();
    for (const [contentType, body] of [
      ['application/x-www-form-urlencoded', 'password=integration-admin-token'],
      ['application/json', JSON.stringify({ token: TOKEN })],
    ]) {
      const response = await worker.fetch(`${HTTP}/_affinity/session`, {
        method: 'POST',
        headers: { ...NAVIGATION, origin: HTTP, 'content-type': contentType! },
        body,
      });
      expect(response.status, contentType).toBe(401);
      expect(response.headers.getSetCookie()).toEqual([]);
    }
  });

  it('refuses a sign-in or sign-out form posted from another site', async () => {
    const worker = freshWorker();
    for (const path of ['/_affinity/session', '/_affinity/session/end']) {
      const response = await worker.fetch(`${HTTP}${path}`, {
        method: 'POST',
        headers: {
          ...NAVIGATION,
          'sec-fetch-site': 'cross-site',
          origin: 'https://elsewhere.example',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token: TOKEN }).toString(),
      });
      expect(response.status, path).toBe(403);
      expect(response.headers.getSetCookie()).toEqual([]);
    }
  });

  it('does not exist without an ADMIN_TOKEN', async () => {
    const worker = freshWorker({ ADMIN_TOKEN: undefined });
    expect((await postSignIn(worker, '')).status).toBe(404);
    expect((await worker.fetch(`${HTTP}/_affinity/session/end`, { method: 'POST' })).status).toBe(404);
  });
});

describe('what the admin session cookie opens', () => {
  it('opens the status page on a top-level navigation', async () => {
    const worker = freshWorker();
    const response = await openStatusPage(worker, await signIn(worker));
    expect(response.status).toBe(200);
    const html = await response.text();
    for (const origin of ORIGINS) expect(html).toContain(`data-origin="${origin.id}"`);
    expect(html).toContain('<form id="sign-out" method="post" action="/_affinity/session/end">');
  });

  it.each([
    ['without Fetch Metadata (no browser navigation)', { accept: 'text/html' }],
    ["a script's fetch", { ...NAVIGATION, 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' }],
    ["a script's no-cors fetch", { ...NAVIGATION, 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'empty' }],
    ['a frame', { ...NAVIGATION, 'sec-fetch-dest': 'iframe' }],
    ['a navigation into something other than a document', { ...NAVIGATION, 'sec-fetch-dest': 'empty' }],
  ])('is refused for %s: 401, the sign-in page, no status', async (_, headers) => {
    const worker = freshWorker();
    const response = await openStatusPage(worker, await signIn(worker), headers);
    expect(response.status).toBe(401);
    const html = await response.text();
    expect(html).toContain('id="sign-in"');
    expect(html).not.toContain('data-origin');
  });

  it('opens no JSON API, not even on a navigation', async () => {
    const worker = freshWorker();
    const cookie = await signIn(worker);
    const json = { ...NAVIGATION, accept: 'application/json', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' };
    expect((await openStatusPage(worker, cookie, json)).status).toBe(401);
    for (const headers of [json, NAVIGATION]) {
      const config = await worker.fetch(`${HTTP}/_affinity/config`, { headers: { ...headers, cookie } });
      expect(config.status).toBe(401);
    }
  });

  it('changes nothing: a PUT of the configuration with the cookie is refused and nothing is stored', async () => {
    const worker = freshWorker();
    const cookie = await signIn(worker);
    const before = await testEnv.ORIGINS.get('config');
    for (const headers of [{ 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' }, NAVIGATION]) {
      const response = await worker.fetch(`${HTTP}/_affinity/config`, {
        method: 'PUT',
        headers: { ...headers, cookie, 'content-type': 'application/json' },
        body: JSON.stringify({ origins: [{ id: 'evil', url: 'http://evil' }] }),
      });
      expect(response.status).toBe(401);
    }
    expect(await testEnv.ORIGINS.get('config')).toBe(before);
  });

  it('ends an hour after sign-in: the next navigation asks to sign in again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2030, 0, 1, 12, 0, 0));
    const worker = freshWorker();
    const cookie = await signIn(worker);
    vi.setSystemTime(Date.UTC(2030, 0, 1, 12, 59, 59));
    expect((await openStatusPage(worker, cookie)).status).toBe(200);
    vi.setSystemTime(Date.UTC(2030, 0, 1, 13, 0, 0));
    const expired = await openStatusPage(worker, cookie);
    expect(expired.status).toBe(401);
    expect(await expired.text()).toContain('Your admin session has ended. Sign in again.');
  });

  it('refuses a cookie whose signed expiry was pushed back, whose signature was changed, or that is made up', async () => {
    const worker = freshWorker();
    const cookie = await signIn(worker);
    const [name, value] = cookie.split('=') as [string, string];
    const [expiry, signature] = decodeURIComponent(value).split('.') as [string, string];
    const flipped = signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
    for (const forged of [
      `${Number(expiry) + 86_400}.${signature}`,
      `${expiry}.${flipped}`,
      '99999999999',
      `${Number(expiry) + 86_400}`,
    ]) {
      const response = await openStatusPage(worker, `${name}=${encodeURIComponent(forged)}`);
      expect(response.status, forged).toBe(401);
      expect(await response.text()).not.toContain('data-origin');
    }
  });

  it('refuses a cookie signed before ADMIN_TOKEN was rotated', async () => {
    const cookie = await signIn(freshWorker({ ADMIN_TOKEN: 'the-old-admin-token' }), HTTP, 'the-old-admin-token');
    const rotated = freshWorker({ ADMIN_TOKEN: 'the-new-admin-token' });
    const response = await openStatusPage(rotated, cookie);
    expect(response.status).toBe(401);
    expect(await response.text()).toContain('Your admin session has ended. Sign in again.');
  });

  it('takes on https only the __Secure- cookie, which plain http cannot have set', async () => {
    const worker = freshWorker();
    const plain = await signIn(worker, HTTP);
    expect((await openStatusPage(worker, plain, NAVIGATION, HTTPS)).status).toBe(401);
    const secure = await signIn(worker, HTTPS);
    expect((await openStatusPage(worker, secure, NAVIGATION, HTTPS)).status).toBe(200);
  });
});

describe('signing out', () => {
  it.each([
    [HTTP, 'edge-affinity-admin', []],
    [HTTPS, '__Secure-edge-affinity-admin', ['Secure']],
  ])('on %s clears the cookie and answers 303 to the status page', async (base, name, secure) => {
    const worker = freshWorker();
    const cookie = await signIn(worker, base);
    const response = await worker.fetch(`${base}/_affinity/session/end`, {
      method: 'POST',
      headers: { ...NAVIGATION, origin: base, cookie, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/_affinity/status');
    const [setCookie, ...others] = response.headers.getSetCookie();
    expect(others).toEqual([]);
    expect(setCookie).toMatch(new RegExp(`^${name}=;`));
    expect(attributes(setCookie!)).toEqual(
      ['HttpOnly', 'Max-Age=0', 'Path=/_affinity', 'SameSite=Strict', ...secure].sort(),
    );
  });
});

describe('the admin token stays secret', () => {
  it('appears in no response and no log line, whatever happens', async () => {
    const logged: string[] = [];
    for (const level of ['log', 'warn', 'error', 'info', 'debug'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.join(' ')));
    }
    const worker = freshWorker();
    const wrongButClose = `${TOKEN}x`;
    const responses = [
      await postSignIn(worker, wrongButClose),
      await postSignIn(worker, TOKEN),
      await postSignIn(worker, TOKEN, HTTPS),
      await openStatusPage(worker, await signIn(worker)),
      await openStatusPage(worker, await signIn(worker), { accept: 'application/json' }),
      await worker.fetch(`${HTTP}/_affinity/status`, { headers: { authorization: `Bearer ${wrongButClose}` } }),
      await worker.fetch(`${HTTP}/_affinity/status`, {
        headers: { accept: 'text/html', authorization: `Bearer ${TOKEN}` },
      }),
      await worker.fetch(`${HTTP}/_affinity/session/end`, { method: 'POST', headers: { origin: HTTP } }),
    ];
    for (const response of responses) {
      const everything = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
      expect(everything + (await response.text())).not.toContain(TOKEN);
    }
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.join('\n')).not.toContain(TOKEN);
  });
});

describe('proxied requests', () => {
  it('carry every other cookie to the origin, but never the admin session cookie', async () => {
    const seen = stubOrigins(Object.fromEntries(ORIGINS.map((o) => [o.id, answersWith(o.id)])));
    const worker = freshWorker();
    const session = (await signIn(worker)).split('=')[1];
    const response = await worker.fetch(`${HTTP}/cart`, {
      headers: {
        cookie: `a=1; edge-affinity-admin=${session}; b=2; __Secure-edge-affinity-admin=${session}; c=3`,
      },
    });
    expect(response.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.get('cookie')).toBe('a=1; b=2; c=3');
  });
});
