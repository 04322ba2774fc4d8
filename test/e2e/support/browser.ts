/**
 * Debian's Chromium for the browser tests, started as this machine needs it: headless, no sandbox
 * (root), and none of the background traffic it would otherwise attempt on a closed network.
 * `.ci/run` installs it; elsewhere, without it, the browser tests are skipped, except under CI.
 */
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_AVAILABLE = existsSync(CHROMIUM);
if (!CHROMIUM_AVAILABLE && process.env.CI) {
  throw new Error(`Chromium not found at ${CHROMIUM}: .ci/run installs Debian's chromium package`);
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage', // a container's /dev/shm is small; a renderer that runs out of it dies
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
