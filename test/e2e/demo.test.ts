/**
 * `npm start`, as a newcomer would run it: the demo comes up, a cart survives reloads in a real
 * browser, an MCP client's session stays on its server (`npm run demo:mcp`, as the banner says),
 * stopping the origin that holds the cart moves the visitor on without an error page, and `q` stops
 * everything the demo started.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_AVAILABLE } from './support/browser';

const ROOT = resolve(import.meta.dirname, '../..');

let demo: ChildProcess;
let output = '';
let shopUrl: string;
let statusUrl: string;
let adminToken: string;
let mcpUrl: string;
let browser: Browser;

function startDemo(): Promise<void> {
  demo = spawn(process.execPath, [resolve(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/start-demo.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  demo.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((ready, fail) => {
    createInterface({ input: demo.stdout! }).on('line', (line) => {
      output += `${line}\n`;
      shopUrl ??= /Shop \(through the worker\):\s+(\S+)/.exec(line)?.[1] as string;
      statusUrl ??= /Status page:\s+(\S+)/.exec(line)?.[1] as string;
      adminToken ??= /Admin token:\s+(\S+)/.exec(line)?.[1] as string;
      mcpUrl ??= /MCP endpoint:\s+(\S+)/.exec(line)?.[1] as string;
      if (/Press q or Ctrl-C/.test(line)) ready();
    });
    demo.on('exit', (code) => fail(new Error(`the demo exited with code ${code}:\n${output}`)));
  });
}

describe.skipIf(!CHROMIUM_AVAILABLE)('npm start', () => {
  beforeAll(async () => {
    await startDemo();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    if (demo && demo.exitCode === null) demo.kill('SIGINT');
  });

  it('prints the shop, the status page, the dev token apart from it, and how to stop an origin', () => {
    expect(shopUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(statusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/_affinity\/status$/);
    expect(adminToken).toBe('demo-admin-token');
    expect(output).toMatch(/Press 1, 2 or 3 to stop/);
  });

  it('signs in to the status page with the printed token and shows the three origins', async () => {
    const page = await browser.newPage();
    expect((await page.goto(statusUrl))?.status()).toBe(401);
    await page.fill('input[name="token"]', adminToken);
    await page.click('#sign-in button');
    await expect.poll(() => page.locator('tr[data-origin]').count(), { timeout: 10_000 }).toBe(3);
    expect(page.url()).toBe(statusUrl);
    await page.close();
  }, 20_000);

  it('serves MCP: the printed client command keeps its session on one server, and the log says an envelope routed it', async () => {
    expect(output).toContain(`npm run demo:mcp -- ${mcpUrl}`);
    const tsx = resolve(ROOT, 'node_modules/tsx/dist/cli.mjs');
    const run = await promisify(execFile)(process.execPath, [tsx, 'scripts/demo/mcp-client.ts', mcpUrl, '3'], {
      cwd: ROOT,
    });
    const answers = [...run.stdout.matchAll(/whoami → (\S+), call (\d+) of this session/g)];
    expect(answers.map((a) => a[2])).toEqual(['1', '2', '3']);
    const server = answers[0]![1]!;
    expect(answers.map((a) => a[1])).toEqual([server, server, server]);
    expect(run.stdout).toMatch(/session ended/);
    await expect
      .poll(() => output, { timeout: 5_000 })
      .toMatch(new RegExp(`POST /mcp → ${server}  pinned \\(envelope valid, header:mcp-session-id\\)  200`));
    expect(output).toMatch(new RegExp(`DELETE /mcp → ${server}  pinned \\(envelope valid, header:mcp-session-id\\)`));
  }, 30_000);

  it('keeps the cart across reloads, and adds to it without an error page when its origin stops', async () => {
    const page = await browser.newPage();
    await page.goto(shopUrl);
    const holder = (await page.locator('#served-by').textContent())!;
    // Each add is the page script's PUT of a new cart line, then a reload: wait until that page is in
    // before the next step, or a reload races it and the browser drops the page under it.
    const cart = () => page.locator('#cart li').allTextContents();
    await page.selectOption('select[name="item"]', 'Hand grinder');
    await page.click('text=Add to cart');
    await expect.poll(cart, { timeout: 5_000 }).toEqual(['Hand grinder']);
    await page.selectOption('select[name="item"]', 'Ceramic mug');
    await page.click('text=Add to cart');
    await expect.poll(cart, { timeout: 5_000 }).toEqual(['Hand grinder', 'Ceramic mug']);
    for (let reload = 0; reload < 3; reload++) {
      await page.reload();
      expect(await page.locator('#served-by').textContent()).toBe(holder);
      expect(await cart()).toEqual(['Hand grinder', 'Ceramic mug']);
    }
    demo.stdin!.write(`${holder.replace('app-', '')}\n`); // the key that stops this origin
    await expect.poll(() => output, { timeout: 5_000 }).toContain(`${holder} stopped`);
    // The add goes to the dead origin first: its PUT is idempotent, so the worker sends it on to the
    // session's next origin inside the same request, and the page shows where it landed.
    const puts: number[] = [];
    page.on('response', (r) => void (r.request().method() === 'PUT' && puts.push(r.status())));
    await page.selectOption('select[name="item"]', 'Paper filters');
    await page.click('text=Add to cart');
    await expect.poll(() => page.locator('#served-by').textContent(), { timeout: 5_000 }).not.toBe(holder);
    expect(puts).toEqual([200]);
    await expect
      .poll(() => output, { timeout: 5_000 })
      .toMatch(/PUT \/cart\/lines\/\S+ → app-\d  repinned, connect-failed \(cookie valid\)  200/);
    expect(await cart()).toContain('Paper filters');
    expect(await page.locator('#note').textContent()).toMatch(/moved you here without an error page/);
    const response = await page.reload();
    expect(response?.status()).toBe(200);
    expect(await page.locator('#served-by').textContent()).not.toBe(holder);
  }, 30_000);

  it('stops everything it started on q', async () => {
    const exited = new Promise((resolve) => demo.once('exit', resolve));
    demo.stdin!.write('q\n');
    await exited;
    await expect(fetch(shopUrl, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  }, 20_000);
});
