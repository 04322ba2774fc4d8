/**
 * The status page in a real browser: Debian's Chromium driven by playwright-core, asserting what a
 * person sees (see support/browser.ts for when it is skipped).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_AVAILABLE } from './support/browser';
import { openSessions } from './support/client';
import { EchoOrigin } from './support/echo-origin';
import { DEFAULT_SECRETS, WorkerUnderTest } from './support/worker-under-test';

const SCREENSHOT = resolve(
  import.meta.dirname,
  process.env.UPDATE_SCREENSHOTS ? '../../docs/status-page.png' : '../../.build/status-page.png',
);

let origins: EchoOrigin[];
let worker: WorkerUnderTest;
let context: BrowserContext;
let profile: string;

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
    await openSessions(worker, 3); // the first requests give the health monitor its plan
    await origins[2]!.stop();
    profile = mkdtempSync(join(tmpdir(), 'edge-affinity-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1200, height: 520 },
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await worker?.dispose();
    await Promise.all(origins?.map((o) => o.stop()) ?? []);
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const row = (page: Page, id: string) => page.locator(`tr[data-origin="${id}"]`);

  it('shows every origin with its state, weight, health, last probe, latency, last error and share of new sessions', async () => {
    const page = await context.newPage();
    await page.goto(`${worker.url}/_affinity/status#token=${DEFAULT_SECRETS.ADMIN_TOKEN}`);
    expect(page.url(), 'the token leaves the address bar').toBe(`${worker.url}/_affinity/status`);
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

  it('refreshes itself: an origin that comes back turns healthy without a reload', async () => {
    const page = await context.newPage();
    await page.goto(`${worker.url}/_affinity/status#token=${DEFAULT_SECRETS.ADMIN_TOKEN}`);
    await expect.poll(() => row(page, 'app-3').locator('.pill').textContent(), { timeout: 15_000 }).toBe('unhealthy');
    await origins[2]!.restart();
    await expect
      .poll(() => row(page, 'app-3').locator('.pill').textContent(), { timeout: 20_000, interval: 500 })
      .toBe('healthy');
  }, 30_000);

  it('asks a person without the token to sign in, and refuses a wrong one', async () => {
    const page = await context.newPage();
    const response = await page.goto(`${worker.url}/_affinity/status`);
    expect(response?.status()).toBe(401);
    await page.fill('input[name="token"]', 'not-the-token');
    await page.click('button');
    await expect.poll(() => page.locator('.banner').textContent()).toBe('That token was refused.');
    await page.fill('input[name="token"]', DEFAULT_SECRETS.ADMIN_TOKEN!);
    await page.click('button');
    await expect.poll(() => page.locator('tr[data-origin]').count()).toBe(3);
  });
});
