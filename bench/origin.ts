/**
 * The benchmark's origin. nginx when the machine has it (`apt-get install nginx-light`): it answers
 * from C, with a few microseconds of CPU per request, so that the origin is not what the two cores
 * are busy with. Otherwise a minimal node:http server in a process of its own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export interface BenchOrigin {
  url: string;
  kind: 'nginx' | 'node';
  stop(): void;
}

/** The body both kinds answer with. */
const BODY = '{"ok":true,"from":"origin"}';

export async function startOrigin(): Promise<BenchOrigin> {
  return hasNginx() ? startNginx(await freePort()) : startNodeOrigin();
}

function hasNginx(): boolean {
  return spawnSync('nginx', ['-v'], { stdio: 'ignore' }).status === 0;
}

async function startNginx(port: number): Promise<BenchOrigin> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-affinity-bench-nginx-'));
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const config = join(dir, 'nginx.conf');
  writeFileSync(
    config,
    `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_requests 10000000; keepalive_timeout 120s;
  server {
    listen 127.0.0.1:${port};
    location / { default_type application/json; return 200 '${BODY}'; }
  }
}
`,
  );
  const child = spawn('nginx', ['-c', config, '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilAnswering(url, child);
  return { url, kind: 'nginx', stop: () => child.kill() };
}

async function startNodeOrigin(): Promise<BenchOrigin> {
  const child = spawn(process.execPath, [resolve(import.meta.dirname, 'origin-server.mjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { url: `http://127.0.0.1:${line.trim()}`, kind: 'node', stop: () => child.kill() };
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

async function waitUntilAnswering(url: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`nginx did not answer at ${url}`);
}
