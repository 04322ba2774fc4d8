/**
 * `npm start`: the whole thing on one machine, nothing to configure.
 *
 * Starts three demo shop origins that keep carts (and MCP sessions, at `/mcp`) in memory, seeds the
 * local KV namespace with a configuration pointing at them, runs the worker with `wrangler dev`, and
 * prints where to look.
 * Keys 1, 2 and 3 stop and restart an origin; q or Ctrl-C stops everything this script started.
 * `PORT` picks the worker's port (0: any); `DEMO_DIR` the directory of the demo's local KV and
 * secrets (default `.demo`), so that two demos (the end-to-end tests) can run side by side.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { CartOrigin } from './demo/cart-origin';

const ROOT = resolve(import.meta.dirname, '..');
const WRANGLER = resolve(ROOT, 'node_modules/wrangler/bin/wrangler.js');
const DEMO_DIR = resolve(ROOT, process.env.DEMO_DIR ?? '.demo');
const STATE = resolve(DEMO_DIR, 'state');
const SECRETS_FILE = resolve(DEMO_DIR, 'secrets.env');
// Demo-only values, printed below; a real deployment sets its own with `wrangler secret put`.
const DEMO_SECRET = 'demo-only-affinity-secret-do-not-deploy';
const DEMO_ADMIN_TOKEN = 'demo-admin-token';

async function main(): Promise<void> {
  const workerPort = await freePort(Number(process.env.PORT ?? 8787));
  const origins = await Promise.all(['app-1', 'app-2', 'app-3'].map((id, i) => startOrigin(id, 8101 + i)));
  mkdirSync(STATE, { recursive: true });
  seedConfig(origins);
  const { wrangler, ready } = startWrangler(workerPort);
  const stopAll = once(async () => {
    console.log('\nStopping the worker and the demo origins...');
    stopProcessGroup(wrangler);
    await Promise.all(origins.map((origin) => origin.stop()));
    process.exit(0);
  });
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);
  wrangler.on('exit', (code) => {
    if (code !== null && code !== 0) console.error(`wrangler dev exited with code ${code}`);
    void stopAll();
  });
  await ready;
  printBanner(workerPort, origins);
  listenForKeys(origins, stopAll);
}

function seedConfig(origins: CartOrigin[]): void {
  const config = {
    origins: origins.map((origin) => ({ id: origin.id, url: `http://127.0.0.1:${origin.port}` })),
    // MCP clients keep no cookies: the session id each MCP server issues routes its session instead.
    // Every decision in the terminal, routine ones included: the demo is there to watch the routing.
    // Handoff: the shop checkpoints each cart at the edge, so a cart outlives the origin that held it.
    affinity: { learn: ['header:mcp-session-id'], decisionLog: 'all', handoff: true },
    health: { path: '/health', interval: 2, timeout: 1, rise: 2, fall: 2 },
  };
  const args = [
    'kv',
    'key',
    'put',
    '--binding',
    'ORIGINS',
    'config',
    JSON.stringify(config),
    '--local',
    '--persist-to',
    STATE,
  ];
  const result = spawnSync(process.execPath, [WRANGLER, ...args], { cwd: ROOT, encoding: 'utf8', env: wranglerEnv() });
  if (result.status !== 0) throw new Error(`could not seed the local KV namespace:\n${result.stderr}`);
}

function startWrangler(port: number): { wrangler: ChildProcess; ready: Promise<void> } {
  // The demo's secrets go in a file of their own, so that the user's .dev.vars is neither read nor touched.
  writeFileSync(SECRETS_FILE, `AFFINITY_SECRET=${DEMO_SECRET}\nADMIN_TOKEN=${DEMO_ADMIN_TOKEN}\n`);
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', STATE, '--env-file', SECRETS_FILE];
  args.push('--show-interactive-dev-session=false');
  const wrangler = spawn(process.execPath, [WRANGLER, ...args], {
    cwd: ROOT,
    env: wranglerEnv(),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ready = new Promise<void>((resolveReady) => {
    for (const stream of [wrangler.stdout!, wrangler.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (/Ready on http/.test(line)) resolveReady();
        if (!OFFLINE_NOISE.test(line)) console.log(describeLogLine(line));
      });
    }
  });
  return { wrangler, ready };
}

/** Offline, wrangler cannot fetch the `Request.cf` object; it says so once, this drops its stack trace. */
const OFFLINE_NOISE = /getaddrinfo ENOTFOUND workers\.cloudflare\.com|at GetAddrInfoReqWrap|node:internal\/async_hooks/;

/**
 * Decision logs, made readable: `GET / → app-2  pinned (cookie valid)  200 in 3 ms`, or for a request
 * an envelope routed, `POST /mcp → app-2  pinned (envelope valid, header:mcp-session-id)  200 in 3 ms`;
 * a request that handed a session's state over ends with `cart handed over from app-1`.
 */
function describeLogLine(line: string): string {
  const json = line.indexOf('{"level"');
  if (json < 0) return `  [wrangler] ${line}`;
  try {
    const entry = JSON.parse(line.slice(json)) as Record<string, unknown>;
    if (entry.event !== 'request') return `  [worker] ${line.slice(json)}`;
    const reason = entry.reason ? `, ${String(entry.reason)}` : '';
    const byEnvelope = entry.envelope !== undefined && entry.envelope !== 'absent';
    const credential = byEnvelope
      ? `envelope ${String(entry.envelope)}, ${String(entry.learned)}`
      : `cookie ${String(entry.cookie)}`;
    const handedOver = entry.stateFrom ? `  cart handed over from ${String(entry.stateFrom)}` : '';
    return `  ${String(entry.method)} ${String(entry.path)} → ${String(entry.origin ?? 'none')}  ${String(entry.decision)}${reason} (${credential})  ${String(entry.status)} in ${String(entry.durationMs)} ms${handedOver}`;
  } catch {
    return `  [worker] ${line}`;
  }
}

function printBanner(port: number, origins: CartOrigin[]): void {
  const url = `http://127.0.0.1:${port}`;
  console.log(`
  edge-affinity demo is running.

  Shop (through the worker):  ${url}/
  Status page:                ${url}/_affinity/status
  Admin token:                ${DEMO_ADMIN_TOKEN}   (type it into the status page's sign-in form)
  Admin API:                  curl -H 'Authorization: Bearer ${DEMO_ADMIN_TOKEN}' ${url}/_affinity/status
  MCP endpoint:               ${url}/mcp   (stateful MCP servers; try: npm run demo:mcp -- ${url}/mcp)
  Origins:                    ${origins.map((o) => `${o.id} on :${o.port}`).join(', ')}
  (AFFINITY_SECRET and ADMIN_TOKEN here are demo-only values.)

  Add items to the cart and reload: you stay on one origin, so the cart stays.
  Press 1, 2 or 3 to stop (and again to restart) that origin: the shop moves you to another origin
  without an error page, and your cart with you (checkpointed at the edge); the page says which
  origin served you and where the cart came from; the status page shows the origin go down.
  Press q or Ctrl-C to stop everything.
`);
}

function listenForKeys(origins: CartOrigin[], stopAll: () => void): void {
  const toggle = async (origin: CartOrigin) => {
    if (origin.running) await origin.stop();
    else await origin.start();
    console.log(
      `  ${origin.id} ${origin.running ? 'restarted (empty carts)' : 'stopped: its sessions move on their next request'}`,
    );
  };
  const act = (key: string) => {
    if (key === 'q' || key === '\u0003') return stopAll();
    const origin = origins[Number(key) - 1];
    if (origin) void toggle(origin);
  };
  if (process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.on('data', (data) => act(data.toString()));
  } else {
    createInterface({ input: process.stdin }).on('line', (line) => act(line.trim()));
  }
}

function wranglerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, WRANGLER_SEND_METRICS: 'false', FORCE_COLOR: '0' };
}

function stopProcessGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
}

/** A demo origin on its preferred port if that is free, else on one the system picks. */
async function startOrigin(id: string, preferred: number): Promise<CartOrigin> {
  const origin = new CartOrigin(id, preferred);
  try {
    await origin.start();
    return origin;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
  }
  const anywhere = new CartOrigin(id, 0);
  await anywhere.start();
  return anywhere;
}

/** The preferred port if it is free, else one the system picks. */
async function freePort(preferred: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | undefined>((done) => {
      const server = createServer();
      server.once('error', () => done(undefined));
      server.listen(port, '127.0.0.1', () => {
        const { port: bound } = server.address() as { port: number };
        server.close(() => done(bound));
      });
    });
  return (await tryPort(preferred)) ?? (await tryPort(0))!;
}

function once(action: () => Promise<void>): () => void {
  let started = false;
  return () => {
    if (!started) {
      started = true;
      void action();
    }
  };
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
