/**
 * A demo origin of the kind edge-affinity exists for: a shop that keeps each visitor's cart in
 * process memory. Behind a plain load balancer the cart would flicker between origins; behind
 * edge-affinity it stays put, and when this process dies its visitors move on without an error page.
 * With `affinity.handoff`, every change of a cart is checkpointed at the edge (`Affinity-State`), and
 * the origin a visitor moves to restores the cart from the `Affinity-Handoff-State` it is handed.
 * It also serves a stateful MCP endpoint at `/mcp`, whose sessions live in this process too.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { McpEndpoint } from './mcp-endpoint';

export const PRODUCTS = ['Espresso beans', 'Pour-over kettle', 'Ceramic mug', 'Hand grinder', 'Paper filters'];
/** The page's note on where the cart lives; `from` is the origin a restored cart was handed over from. */
const NOTES = {
  new: (id: string) => `New visitor: <b>${id}</b> just created your cart.`,
  known: (id: string) =>
    `This cart lives in the memory of <b>${id}</b> only. Reload as often as you like: you stay here.`,
  moved: (id: string) =>
    `<b>${id}</b> has never seen your cart: the origin that held it went away, and edge-affinity moved you here without an error page.`,
  restored: (id: string, from: string) =>
    `Your cart was restored from the edge from <b>${escapeHtml(from)}</b>, which held it: edge-affinity moved you here without an error page and handed it to <b>${id}</b>.`,
};
type Visitor = { kind: 'new' | 'known' | 'moved' } | { kind: 'restored'; from: string };
const COLOURS = ['#2563eb', '#16a34a', '#db2777', '#ea580c', '#7c3aed'];

/** A cart: its lines by the id the browser gave each, in the order they were added. */
type Cart = Map<string, string>;

/**
 * The checkpoint must fit the worker's limit of 3,072 bytes of `Affinity-State`, or it is not sealed
 * and the cart would be handed over as it was some changes ago. A line is at most 88 bytes of JSON
 * (`["<id, ≤ 64>","<product, ≤ 16>"],`), so 24 lines are at most 2,113 bytes, 2,818 in base64url:
 * the cart takes no more lines than that.
 */
export const MAX_CART_LINES = 24;
const LINE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export class CartOrigin {
  readonly #carts = new Map<string, Cart>();
  /**
   * Sessions that arrived here with a shop cookie another origin issued, or with a cart handed over
   * (by the origin it names): their next page says they moved, and whether their cart came with them.
   */
  readonly #arrivals = new Map<string, string | undefined>();
  readonly #sockets = new Set<Socket>();
  readonly #mcp: McpEndpoint;
  #server?: Server;
  #port: number;

  /** `port` 0: any free port, kept once bound, so that a restarted origin is where the configuration says. */
  constructor(
    readonly id: string,
    port: number,
    private readonly colour = COLOURS[Number(id.replace(/\D/g, '')) % COLOURS.length] ?? COLOURS[0]!,
  ) {
    this.#port = port;
    this.#mcp = new McpEndpoint(id);
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
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
      server.listen(this.#port, '127.0.0.1', resolve);
    });
    this.#port = (server.address() as AddressInfo).port;
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
    // A cart handed over by the edge replaces what this origin holds of the session: it is the
    // session's last checkpoint, newer than any copy left here from an earlier stay.
    const handed = handedOver(request);
    if (handed) this.#carts.set(sessionId, handed.cart);
    if (handed || (!isNew && !known)) this.#arrivals.set(sessionId, handed?.from);
    const cart = this.#carts.get(sessionId) ?? new Map<string, string>();
    this.#carts.set(sessionId, cart);
    const line = /^\/cart\/lines\/([A-Za-z0-9-]{1,64})$/.exec(url.pathname)?.[1];
    // Adding a line is an idempotent PUT (the browser names the line): sent twice, it is in the cart
    // once, so the worker may send it to another origin when this one's connection breaks.
    if (request.method === 'PUT' && line) {
      const item = (await readBody(request)).trim();
      if (!cart.has(line) && cart.size >= MAX_CART_LINES) return this.#cartFull(response);
      cart.set(line, PRODUCTS.find((product) => product === item) ?? PRODUCTS[0]!);
      checkpoint(response, cart);
      return this.#cartJson(response, cart);
    }
    if (request.method === 'DELETE' && url.pathname === '/cart') {
      cart.clear();
      checkpoint(response, cart);
      return this.#cartJson(response, cart);
    }
    // Without the page's script: a plain form POST, which is not idempotent (sent twice, the item is
    // added twice), so the worker never sends it again after a broken connection. A full cart takes
    // nothing more; the page shows it as it is.
    if (request.method === 'POST' && url.pathname === '/cart') {
      const form = new URLSearchParams(await readBody(request));
      const item = PRODUCTS.find((product) => product === form.get('item')) ?? PRODUCTS[cart.size % PRODUCTS.length]!;
      if (form.get('clear')) cart.clear();
      else if (cart.size < MAX_CART_LINES) cart.set(randomBytes(9).toString('base64url'), item);
      checkpoint(response, cart);
      response.writeHead(303, { location: '/' });
      return void response.end();
    }
    if (url.pathname === '/cart.json') return this.#cartJson(response, cart);
    response.setHeader('content-type', 'text/html; charset=utf-8');
    response.end(this.#page([...cart.values()], this.#visitor(sessionId, isNew)));
  }

  #visitor(sessionId: string, isNew: boolean): Visitor {
    if (!this.#arrivals.has(sessionId)) return { kind: isNew ? 'new' : 'known' };
    const from = this.#arrivals.get(sessionId);
    this.#arrivals.delete(sessionId);
    return from === undefined ? { kind: isNew ? 'new' : 'moved' } : { kind: 'restored', from };
  }

  #cartFull(response: ServerResponse): void {
    response.writeHead(409, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ origin: this.id, error: `the cart holds at most ${MAX_CART_LINES} lines` }));
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

  #page(cart: string[], visitor: Visitor): string {
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
<p class="note" id="note">${visitor.kind === 'restored' ? NOTES.restored(this.id, visitor.from) : NOTES[visitor.kind](this.id)}</p>
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
  else document.getElementById('note').textContent = response.status === 409
    ? 'Your cart is full: it holds at most ${MAX_CART_LINES} lines.'
    : 'The shop could not take that (' + response.status + '): please try again.';
}
document.getElementById('add').addEventListener('submit', (event) =>
  send(event, 'PUT', '/cart/lines/' + lineId(), new FormData(event.target).get('item')));
document.getElementById('empty').addEventListener('submit', (event) => send(event, 'DELETE', '/cart'));
`;

/**
 * The cart as the session's state at the edge: base64url of the JSON of its lines, `[[id, product], …]`,
 * in the order they were added (the line ids keep a replayed PUT idempotent on the next origin too).
 * An empty cart clears the state: there is nothing to hand over.
 */
function checkpoint(response: ServerResponse, cart: Cart): void {
  const state = cart.size === 0 ? ';clear' : Buffer.from(JSON.stringify([...cart])).toString('base64url');
  response.setHeader('affinity-state', state);
}

/** The cart the edge handed over with this request, and the origin that held it; undefined without one. */
function handedOver(request: IncomingMessage): { cart: Cart; from: string } | undefined {
  const state = request.headers['affinity-handoff-state'];
  const cart = typeof state === 'string' ? readCheckpoint(state) : undefined;
  if (!cart) return undefined;
  return { cart, from: String(request.headers['affinity-handoff-from'] ?? 'another origin') };
}

/** A checkpointed cart; undefined when it is not one this shop wrote (then the visitor arrives without it). */
function readCheckpoint(state: string): Cart | undefined {
  let lines: unknown;
  try {
    lines = JSON.parse(Buffer.from(state, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const isLine = (line: unknown): line is [string, string] =>
    Array.isArray(line) &&
    line.length === 2 &&
    typeof line[0] === 'string' &&
    LINE_ID.test(line[0]) &&
    PRODUCTS.includes(line[1] as string);
  if (!Array.isArray(lines) || lines.length > MAX_CART_LINES || !lines.every(isLine)) return undefined;
  return new Map(lines);
}

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
