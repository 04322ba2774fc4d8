/**
 * A visitor of the demo shop (scripts/demo/cart-origin.ts) through the worker, with its own cookie
 * jar: adds lines as the page's script does (an idempotent PUT of a line it names), or as the form
 * does without script (a POST), and reads the shop's page as a person would — which origin served it,
 * the cart's lines, the note on where the cart came from.
 */
import { randomUUID } from 'node:crypto';
import { Client, type Exchange } from './client';
import type { WorkerUnderTest } from './worker-under-test';

export interface ShopPage {
  status: number;
  servedBy: string | null;
  lines: string[];
  /** The note's text, without markup. */
  note: string;
}

export class Shopper {
  readonly client: Client;

  constructor(worker: WorkerUnderTest) {
    this.client = new Client(worker);
  }

  async page(): Promise<ShopPage> {
    const { response, text, servedBy } = await this.client.request('/');
    const list = /<ul id="cart">(.*?)<\/ul>/s.exec(text)?.[1] ?? '';
    const lines = [...list.matchAll(/<li>(.*?)<\/li>/g)].map((m) => unescape(m[1]!));
    const note = unescape((/<p class="note" id="note">(.*?)<\/p>/s.exec(text)?.[1] ?? '').replace(/<[^>]+>/g, ''));
    return { status: response.status, servedBy, lines, note };
  }

  /** The page script's add-to-cart: a PUT of a new line. */
  add(item: string, lineId: string = randomUUID()): Promise<Exchange> {
    return this.client.request(`/cart/lines/${lineId}`, { method: 'PUT', body: item });
  }

  /** The form's add-to-cart without script: a POST, answered with a redirect to the page. */
  post(item: string): Promise<Exchange> {
    const body = new URLSearchParams({ item }).toString();
    return this.client.request('/cart', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }

  /** The page script's "Empty cart". */
  empty(): Promise<Exchange> {
    return this.client.request('/cart', { method: 'DELETE' });
  }

  /** The cart as the shop's JSON says it, and the origin that answered. */
  async cart(): Promise<{ origin: string; items: string[] }> {
    const { response, text } = await this.client.request('/cart.json');
    if (response.status !== 200) throw new Error(`expected 200 from /cart.json, got ${response.status}: ${text}`);
    return JSON.parse(text) as { origin: string; items: string[] };
  }
}

function unescape(html: string): string {
  return html.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}
