/**
 * Global setup of the end-to-end tier: bundles the worker exactly as `wrangler deploy` would, once,
 * so that the tests run the real artefact.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

export const BUNDLE_DIR = resolve(import.meta.dirname, '../../../.build/e2e');
export const BUNDLE_ENTRY = resolve(BUNDLE_DIR, 'index.js');

export default function buildWorker(): void {
  const wrangler = resolve(import.meta.dirname, '../../../node_modules/wrangler/bin/wrangler.js');
  execFileSync(process.execPath, [wrangler, 'deploy', '--dry-run', '--outdir', BUNDLE_DIR], {
    cwd: resolve(import.meta.dirname, '../../..'),
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
}
