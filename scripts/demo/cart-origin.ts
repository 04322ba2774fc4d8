/**
 * A demo origin of the kind edge-affinity exists for: a shop that keeps each visitor's cart in
 * process memory. Behind a plain load balancer the cart would flicker between origins; behind
 * edge-affinity it stays put, and when this process dies its visitors move on without an error page.
 * It also serves a stateful MCP endpoint at `/mcp`, whose sessions live in this process too.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { McpEndpoint } from './mcp-endpoint';

const PRODUCTS = ['Espresso beans', 'Pour-over kettle', 'Ceramic mug', 'Hand grinder', 'Paper filters'];
const NOTES = {
  new: (id: string) => `New visitor: <b>${id}</b> just created your cart.`,
  known: (id: string) =>
    `This cart lives in the memory of <b>${id}</b> only. Reload as often as you like: you stay here.`,
  moved: (id: string) =>
    `<b>${id}</b> has never seen your cart: the origin that held it went away, and edge-affinity moved you here without an error page.`,
};
const COLOURS = ['#2563eb', '#16a34a', '#db2777', '#ea580c', '#7c3aed'];

/** A cart: its lines by the id the browser gave each, in the order they were added. */
type Cart = Map<string, string>;

export class CartOrigin {
  readonly #carts = new Map<string, Cart>();
  /** Sessions that arrived here with a shop cookie another origin issued: their next page says they moved. */
  readonly #arrivals = new Set<string>();
  readonly #sockets = new Set<Socket>();
  readonly #mcp: McpEndpoint;
  #server?: Server;

  constructor(
    readonly id: string,
    readonly port: number,
    private readonly colour = COLOURS[Number(id.replace(/\D/g, '')) % COLOURS.length] ?? COLOURS[0]!,
  ) {
    this.#mcp = new McpEndpoint(id);
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  async start(): Promise<void> {
    if (this.#server) return;
    const server = createServer((request, response) => void this.#handle(request, response));
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.#server = server;
  }

  /** Stops like a crash: carts and MCP sessions in memory are lost, open connections dropped. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    this.#carts.clear();
    this.#arrivals.clear();
    const closed = new Promise((resolve) => server.close(resolve));
    for (const socket of this.#sockets) socket.destroy();
    await this.#mcp.forget();
    await closed;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://origin');
    response.setHeader('x-served-by', this.id);
    if (url.pathname === '/health') return void response.end('ok');
    if (url.pathname === '/favicon.ico') return void response.writeHead(404).end();
    if (url.pathname === '/mcp') return this.#mcp.handle(request, response);
    const { sessionId, isNew, known } = this.#session(request);
    if (isNew) response.setHeader('set-cookie', `shop_session=${sessionId}; Path=/; HttpOnly; SameSite=Lax`);
    if (!isNew && !known) this.#arrivals.add(sessionId);
    const cart = this.#carts.get(sessionId) ?? new Map<string, string>();
    this.#carts.set(sessionId, cart);
    const line = /^\/cart\/lines\/([A-Za-z0-9-]{1,64})$/.exec(url.pathname)?.[1];
    // Adding a line is an idempotent PUT (the browser names the line): sent twice, it is in the cart
    // once, so the worker may send it to another origin when this one's connection breaks.
    if (request.method === 'PUT' && line) {
      const item = (await readBody(request)).trim();
      cart.set(line, PRODUCTS.find((product) => product === item) ?? PRODUCTS[0]!);
      return this.#cartJson(response, cart);
    }
    if (request.method === 'DELETE' && url.pathname === '/cart') {
      cart.clear();
      return this.#cartJson(response, cart);
    }
    // Without the page's script: a plain form POST, which is not idempotent (sent twice, the item is
    // added twice), so the worker never sends it again after a broken connection.
    if (request.method === 'POST' && url.pathname === '/cart') {
      const form = new URLSearchParams(await readBody(request));
      if (form.get('clear')) cart.clear();
      else cart.set(randomBytes(9).toString('base64url'), form.get('item') ?? PRODUCTS[cart.size % PRODUCTS.length]!);
      response.writeHead(303, { location: '/' });
      return void response.end();
    }
    if (url.pathname === '/cart.json') return this.#cartJson(response, cart);
    const visitor = isNew ? 'new' : this.#arrivals.delete(sessionId) ? 'moved' : 'known';
    response.setHeader('content-type', 'text/html; charset=utf-8');
    response.end(this.#page([...cart.values()], visitor));
  }

  #cartJson(response: ServerResponse, cart: Cart): void {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ origin: this.id, items: [...cart.values()] }));
  }

  #session(request: IncomingMessage): { sessionId: string; isNew: boolean; known: boolean } {
    const existing = /(?:^|;\s*)shop_session=([A-Za-z0-9_-]+)/.exec(request.headers.cookie ?? '')?.[1];
    if (!existing) return { sessionId: randomBytes(9).toString('base64url'), isNew: true, known: false };
    return { sessionId: existing, isNew: false, known: this.#carts.has(existing) };
  }

  #page(cart: string[], visitor: keyof typeof NOTES): string {
    const items =
      cart.map((item) => `<li>${escapeHtml(item)}</li>`).join('') || '<li class="empty">Your cart is empty.</li>';
    const options = PRODUCTS.map((p) => `<option>${p}</option>`).join('');
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo shop — ${this.id}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#111}
.badge{display:inline-block;padding:.2rem .7rem;border-radius:1rem;color:#fff;background:${this.colour};font-weight:600}
.empty{color:#666;list-style:none}form{display:inline-block;margin:.5rem .5rem 0 0}button,select{font:inherit;padding:.3rem .6rem}
.note{color:#555;font-size:.9rem}</style></head><body>
<h1>Demo shop</h1>
<p>Served by <span class="badge" id="served-by">${this.id}</span></p>
<h2>Cart (${cart.length})</h2><ul id="cart">${items}</ul>
<form method="post" action="/cart" id="add"><select name="item">${options}</select> <button>Add to cart</button></form>
<form method="post" action="/cart" id="empty"><input type="hidden" name="clear" value="1"><button>Empty cart</button></form>
<p class="note" id="note">${NOTES[visitor](this.id)}</p>
<script>${CART_SCRIPT}</script>
</body></html>`;
  }
}

/**
 * The page's script: adding a line and emptying the cart as idempotent requests (PUT of a line the
 * browser names, DELETE of the cart), which the worker may send to another origin if this one dies
 * with the request on its way. Without script, the forms post as usual.
 */
const CART_SCRIPT = `
const lineId = () => (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2));
async function send(event, method, path, body) {
  event.preventDefault();
  const response = await fetch(path, { method, body, headers: { 'content-type': 'text/plain' } });
  if (response.ok) location.reload();
  else document.getElementById('note').textContent = 'The shop could not take that (' + response.status + '): please try again.';
}
document.getElementById('add').addEventListener('submit', (event) =>
  send(event, 'PUT', '/cart/lines/' + lineId(), new FormData(event.target).get('item')));
document.getElementById('empty').addEventListener('submit', (event) => send(event, 'DELETE', '/cart'));
`;

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
