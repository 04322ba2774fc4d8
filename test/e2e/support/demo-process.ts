/**
 * `npm start` (scripts/start-demo.ts) as a child process, the way a newcomer runs it: the worker on
 * any free port, its local KV and secrets in a directory of its own (`DEMO_DIR`), so that it runs
 * beside other demos; what it prints is kept, and keys are typed on its stdin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(import.meta.dirname, '../../..');

export class DemoProcess {
  output = '';
  shopUrl = '';

  private constructor(
    readonly child: ChildProcess,
    readonly dir: string,
  ) {}

  /** Resolves once the banner says how to stop it; rejects if the demo exits before that. */
  static start(): Promise<DemoProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'edge-affinity-demo-'));
    const child = spawn(process.execPath, [resolve(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/start-demo.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', DEMO_DIR: dir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const demo = new DemoProcess(child, dir);
    child.stderr!.on('data', (chunk: Buffer) => (demo.output += chunk.toString()));
    return new Promise((ready, fail) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        demo.output += `${line}\n`;
        demo.shopUrl ||= /Shop \(through the worker\):\s+(\S+)/.exec(line)?.[1] ?? '';
        if (/Press q or Ctrl-C/.test(line)) ready(demo);
      });
      child.once('exit', (code) => fail(new Error(`the demo exited with code ${code}:\n${demo.output}`)));
    });
  }

  /** Types a key as a person would (1, 2, 3: stop or restart that origin; q: quit). */
  press(key: string): void {
    this.child.stdin!.write(`${key}\n`);
  }

  /** Quits as `q` does, and removes its directory once it has exited. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.press('q');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
