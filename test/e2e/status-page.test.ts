/**
 * The status page in a real browser: Debian's Chromium driven by playwright-core, asserting what a
 * person sees, and what a script of the proxied application can do with the admin session that the
 * same browser holds (see support/browser.ts for when it is skipped).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_AVAILABLE } from './support/browser';
import { openSessions, type Client } from './support/client';
import { EchoOrigin } from './support/echo-origin';
import { DEFAULT_SECRETS, WorkerUnderTest } from './support/worker-under-test';
import { until } from '../support/wait';

const SCREENSHOT = resolve(
  import.meta.dirname,
  process.env.UPDATE_SCREENSHOTS ? '../../docs/status-page.png' : '../../.build/status-page.png',
);

let origins: EchoOrigin[];
let worker: WorkerUnderTest;
let context: BrowserContext;
let profile: string;

const TOKEN = DEFAULT_SECRETS.ADMIN_TOKEN!;
const statusUrl = () => `${worker.url}/_affinity/status`;

describe.skipIf(!CHROMIUM_AVAILABLE)(`the status page in Chromium (${CHROMIUM})`, () => {
  beforeAll(async () => {
    origins = await Promise.all(['app-1', 'app-2', 'app-3'].map((id) => EchoOrigin.start(id)));
    worker = await WorkerUnderTest.start({
      config: {
        origins: origins.map((o, i) => ({
          id: o.id,
          url: o.url,
          weight: i === 0 ? 2 : 1,
          state: i === 1 ? 'draining' : 'active',
        })),
        health: { path: '/health', interval: 1, timeout: 1, rise: 1, fall: 1 },
      },
    });
    const first = await openSessions(worker, 3); // the first requests give the health monitor its plan
    await origins[2]!.stop();
    await driveTraffic(first.map((s) => s.client));
    profile = mkdtempSync(join(tmpdir(), 'edge-affinity-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1440, height: 520 },
    });
  }, 60_000);

  beforeEach(() => context.clearCookies());
  // A status page left open would go on reloading itself every few seconds.
  afterEach(() => Promise.all(context.pages().map((page) => page.close())));

  afterAll(async () => {
    await context?.close();
    await worker?.dispose();
    await Promise.all(origins?.map((o) => o.stop()) ?? []);
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const row = (page: Page, id: string) => page.locator(`tr[data-origin="${id}"]`);

  /**
   * Traffic for the fleet view: the sessions opened before app-3 stopped come back (those of app-3
   * move), eight new sessions make three requests each. Isolates report every 10 s, so this waits
   * until the aggregator has counted the new sessions.
   */
  async function driveTraffic(earlier: Client[]): Promise<void> {
    for (const client of earlier) await client.echo('/');
    const fresh = await openSessions(worker, 8);
    for (let round = 0; round < 2; round++) await Promise.all(fresh.map(({ client }) => client.echo('/')));
    const activeOnApp1 = async () => {
      const response = await worker.fetch('/_affinity/status', { headers: { authorization: `Bearer ${TOKEN}` } });
      const report = (await response.json()) as { origins: { id: string; live: { activeSessions: number } | null }[] };
      return report.origins.find((o) => o.id === 'app-1')?.live?.activeSessions ?? 0;
    };
    await until('the fleet aggregator counting the 8 sessions on app-1', async () => (await activeOnApp1()) >= 8, {
      timeoutMs: 15_000,
      everyMs: 500,
    });
  }

  /** As a person signs in: the status page asks for the token, the form posts it, the page shows. */
  async function signIn(page: Page): Promise<void> {
    expect((await page.goto(statusUrl()))?.status()).toBe(401);
    await page.fill('input[name="token"]', TOKEN);
    await page.click('#sign-in button');
    await expect.poll(() => page.locator('tr[data-origin]').count()).toBe(3);
    expect(page.url()).toBe(statusUrl());
  }

  /** Every entry of this tab's session history, as the browser keeps it. */
  async function historyUrls(page: Page): Promise<string[]> {
    const cdp = await context.newCDPSession(page);
    const { entries } = await cdp.send('Page.getNavigationHistory');
    await cdp.detach();
    return entries.map((entry) => entry.url);
  }

  it('shows every origin with its state, weight, health, last probe, latency, last error and share of new sessions', async () => {
    const page = await context.newPage();
    await signIn(page);
    await expect.poll(() => row(page, 'app-3').locator('.pill').textContent(), { timeout: 15_000 }).toBe('unhealthy');
    await expect.poll(() => row(page, 'app-1').locator('.pill').textContent(), { timeout: 15_000 }).toBe('healthy');

    expect(await page.locator('h1').textContent()).toBe('edge-affinity');
    expect(await page.locator('#summary').textContent()).toMatch(/^3 origins · \d healthy · health monitor ok/);
    const cells = async (id: string) => (await row(page, id).locator('td').allInnerTexts()).map((t) => t.trim());
    const [origin1, state1, weight1, , lastProbe1, latency1, , share1] = await cells('app-1');
    expect(origin1).toContain(origins[0]!.url);
    expect([state1, weight1, share1?.split('\n')[0]]).toEqual(['active', '2', '100.0%']);
    expect(lastProbe1).toMatch(/^\d+ s ago$/);
    expect(latency1).toMatch(/^\d+ ms$/);
    const [, state2, , , , , , share2] = await cells('app-2');
    expect([state2, share2?.split('\n')[0]]).toEqual(['draining', '0.0%']);
    const [, , , health3, , , error3, share3] = await cells('app-3');
    expect(health3).toMatch(/^unhealthy\nsince \d+ s ago$/);
    expect(error3).toBe('Network connection lost.');
    expect(share3?.split('\n')[0]).toBe('0.0%');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  }, 30_000);

  it('shows per origin the fleet’s traffic: requests/s, errors, p50/p95, active sessions, moves, the share taken and a 15-minute chart', async () => {
    const page = await context.newPage();
    await signIn(page);
    const cells = async (id: string) => (await row(page, id).locator('td').allInnerTexts()).map((t) => t.trim());
    const [, , , , , , , share1, traffic1, sessions1] = await cells('app-1');
    expect(share1!.split('\n')).toEqual(['100.0%', expect.stringMatching(/^took \d+\.\d%$/)]);
    expect(traffic1).toMatch(/^\d+\.\d req\/s\n(no errors|\d+\.\d% errors)\np50 [\d.]+ ms · p95 [\d.]+ ms$/);
    const [, active, moved] = /^(\d+) active\n(\d+) moved in$/.exec(sessions1!) ?? [];
    expect(Number(active)).toBeGreaterThanOrEqual(8);
    expect(Number(moved)).toBeGreaterThanOrEqual(0);
    const [, , , , , , , share2, traffic2] = await cells('app-2');
    expect(share2!.split('\n')).toEqual(['0.0%', expect.stringMatching(/^took (0\.0%|—)$/)]);
    expect(traffic2).toMatch(/^0\.0 req\/s/);
    const chart = row(page, 'app-1').locator('svg.spark');
    expect(await chart.getAttribute('aria-label')).toMatch(
      /^app-1: requests per second over the last 15 minutes, peak/,
    );
    const points = (await chart.locator('polyline.requests').getAttribute('points'))!.split(' ');
    expect(points).toHaveLength(90);
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('meta[http-equiv="refresh"]').getAttribute('content')).toBe('5');
    expect(await page.locator('#summary').textContent()).toMatch(/· \d+ active sessions ·/);
  }, 30_000);

  it('keeps the token out of every URL, the history and the storage of the origin', async () => {
    const page = await context.newPage();
    const requested: { url: string; body: string | null }[] = [];
    page.on('request', (request) => requested.push({ url: request.url(), body: request.postData() }));
    await signIn(page);
    expect(requested.filter((r) => r.body?.includes(TOKEN)).map((r) => r.url)).toEqual([
      `${worker.url}/_affinity/session`,
    ]);
    expect(requested.map((r) => r.url).filter((url) => url.includes(TOKEN))).toEqual([]);
    const history = await historyUrls(page);
    expect(history.length).toBeGreaterThan(0);
    expect(history.filter((url) => url.includes(TOKEN))).toEqual([]);
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length])).toEqual([0, 0]);
    const [cookie, ...others] = (await context.cookies()).filter((c) => c.name.includes('edge-affinity-admin'));
    expect(others).toEqual([]);
    expect(cookie).toMatchObject({
      name: 'edge-affinity-admin',
      path: '/_affinity',
      httpOnly: true,
      sameSite: 'Strict',
    });
    expect(cookie!.value).not.toContain(TOKEN);
  }, 30_000);

  it('refreshes itself: an origin that comes back turns healthy without a reload or a new history entry', async () => {
    const page = await context.newPage();
    await signIn(page);
    await expect.poll(() => row(page, 'app-3').locator('.pill').textContent(), { timeout: 15_000 }).toBe('unhealthy');
    const history = await historyUrls(page);
    await origins[2]!.restart();
    await expect
      .poll(() => row(page, 'app-3').locator('.pill').textContent(), { timeout: 20_000, interval: 500 })
      .toBe('healthy');
    expect(await historyUrls(page)).toEqual(history);
  }, 30_000);

  it('asks a person without the token to sign in, refuses a wrong one, and signs out', async () => {
    const page = await context.newPage();
    const response = await page.goto(statusUrl());
    expect(response?.status()).toBe(401);
    await page.fill('input[name="token"]', 'not-the-token');
    await page.click('#sign-in button');
    await expect.poll(() => page.locator('.banner').textContent()).toBe('That token was refused.');
    await page.fill('input[name="token"]', TOKEN);
    await page.click('#sign-in button');
    await expect.poll(() => page.locator('tr[data-origin]').count()).toBe(3);
    await page.click('#sign-out button');
    await expect.poll(() => page.locator('#sign-in').count()).toBe(1);
    expect(await page.locator('tr[data-origin]').count()).toBe(0);
    expect((await page.reload())?.status()).toBe(401);
    expect(await context.cookies()).not.toContainEqual(expect.objectContaining({ name: 'edge-affinity-admin' }));
  }, 30_000);

  describe('a script of the proxied application, in a browser signed in to the status page', () => {
    it('can neither read the admin cookie nor use it: its fetches are refused, its frame shows nothing', async () => {
      await signIn(await context.newPage());
      const app = await context.newPage();
      const adminRequests: Promise<{ url: string; cookie: string }>[] = [];
      app.on('request', (request) => {
        if (new URL(request.url()).pathname.startsWith('/_affinity/'))
          adminRequests.push(request.allHeaders().then((h) => ({ url: request.url(), cookie: h.cookie ?? '' })));
      });
      await app.goto(`${worker.url}/app-page`);
      await expect.poll(() => app.locator('#result').textContent(), { timeout: 10_000 }).not.toBe('');
      const result = JSON.parse((await app.locator('#result').textContent())!) as Record<string, unknown>;

      expect(result.cookie).not.toContain('edge-affinity-admin');
      expect(result.cookieUnderAdminPath).not.toContain('edge-affinity-admin');
      expect(result.statusPage).toEqual({ status: 401, rows: false });
      expect(result.statusJson).toBe(401);
      expect(result.configPut).toBe(401);
      expect(result.frame, 'the frame is blocked: no document to read').toBe('no document');
      for (const frame of app.frames()) expect(await frame.locator('tr[data-origin]').count()).toBe(0);
      // The browser did send the session with every one of those requests: it was refused, not missing.
      const sent = await Promise.all(adminRequests);
      expect(sent.length).toBeGreaterThanOrEqual(4);
      for (const request of sent) expect(request.cookie, request.url).toMatch(/(^|; )edge-affinity-admin=/);

      const config = await worker.fetch('/_affinity/config', { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(((await config.json()) as { origins: { id: string }[] }).origins.map((o) => o.id)).toEqual([
        'app-1',
        'app-2',
        'app-3',
      ]);
      for (const origin of origins) {
        for (const request of origin.seen)
          expect(String(request.headers.cookie ?? '')).not.toContain('edge-affinity-admin');
      }
    }, 30_000);

    it('cannot reach into a window it opens on the status page, though the person sees the status there', async () => {
      await signIn(await context.newPage());
      const app = await context.newPage();
      await app.goto(`${worker.url}/app-page`);
      const [popup] = await Promise.all([context.waitForEvent('page'), app.click('#open')]);
      await expect.poll(() => popup.locator('tr[data-origin]').count(), { timeout: 10_000 }).toBe(3);
      await expect.poll(() => app.locator('#popup').textContent(), { timeout: 10_000 }).not.toBe('');
      const { closed, seen } = JSON.parse((await app.locator('#popup').textContent())!) as {
        closed: boolean;
        seen: string[];
      };
      // Cut off by the opener policy: the handle reads as closed, and never showed a row of the status.
      expect(closed).toBe(true);
      expect(seen.filter((rows) => rows !== '0' && !rows.startsWith('threw'))).toEqual([]);
    }, 30_000);
  });
});
