/**
 * The demo's cart outlives its origin, in a real browser (Chromium through playwright-core, see
 * support/browser.ts for when it is skipped): `npm start`, a cart filled with the page's own buttons
 * and script, the origin holding it stopped with the demo's own key; the next page, from another
 * origin, shows the same lines and says the cart was restored from the edge. Twice: the cart travels on.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_AVAILABLE } from './support/browser';
import { DemoProcess } from './support/demo-process';

let demo: DemoProcess | undefined;
let browser: Browser | undefined;

describe.skipIf(!CHROMIUM_AVAILABLE)('npm start: a cart that outlives its origin', () => {
  beforeAll(async () => {
    demo = await DemoProcess.start();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  }, 20_000);

  const servedBy = async (page: Page) => (await page.locator('#served-by').textContent())!;
  const cart = (page: Page) => page.locator('#cart li').allTextContents();
  const note = async (page: Page) => (await page.locator('#note').textContent())!;

  /** The page's own add-to-cart (its script's PUT, then a reload), waited for until the line is in. */
  async function addToCart(page: Page, item: string, expected: string[]): Promise<void> {
    await page.selectOption('select[name="item"]', item);
    await page.click('text=Add to cart');
    await expect.poll(() => cart(page), { timeout: 5_000 }).toEqual(expected);
  }

  /** Stops an origin with the key the banner names, and waits until the demo says it stopped. */
  async function stopOrigin(id: string): Promise<void> {
    demo!.press(id.replace('app-', ''));
    await expect.poll(() => demo!.output, { timeout: 5_000 }).toContain(`${id} stopped`);
  }

  it('shows the same cart, restored from the edge, on the page another origin serves', async () => {
    const page = await browser!.newPage();
    await page.goto(demo!.shopUrl);
    const holder = await servedBy(page);
    await addToCart(page, 'Hand grinder', ['Hand grinder']);
    await addToCart(page, 'Ceramic mug', ['Hand grinder', 'Ceramic mug']);
    expect(await note(page)).toMatch(`lives in the memory of ${holder}`);

    await stopOrigin(holder);
    const reloaded = await page.reload();
    expect(reloaded?.status()).toBe(200);
    const second = await servedBy(page);
    expect(second).not.toBe(holder);
    expect(await cart(page)).toEqual(['Hand grinder', 'Ceramic mug']);
    expect(await note(page)).toMatch(`restored from the edge from ${holder}`);
    // The terminal says so too: the readable decision line names where the cart came from.
    await expect
      .poll(() => demo!.output, { timeout: 5_000 })
      .toMatch(
        new RegExp(
          `GET / → ${second}  repinned, connect-failed \\(cookie valid\\)  200 in \\d+ ms  cart handed over from ${holder}`,
        ),
      );

    // Navigating on: the cart lives on the new origin now, and grows there.
    await page.goto(demo!.shopUrl);
    expect(await servedBy(page)).toBe(second);
    expect(await note(page)).toMatch(`lives in the memory of ${second}`);
    await addToCart(page, 'Paper filters', ['Hand grinder', 'Ceramic mug', 'Paper filters']);

    // And it travels on when that origin stops too.
    await stopOrigin(second);
    await page.reload();
    const third = await servedBy(page);
    expect([holder, second]).not.toContain(third);
    expect(await cart(page)).toEqual(['Hand grinder', 'Ceramic mug', 'Paper filters']);
    expect(await note(page)).toMatch(`restored from the edge from ${second}`);
    await page.close();
  }, 40_000);
});
