/**
 * The heap the isolate's memory of verified envelopes takes when a client floods it with authentic
 * envelopes at the value limit (core/session/verified-tokens.ts): entries kept, bytes charged, heap measured.
 *
 *   npm run bench:memory
 *
 * Runs in Node (the project's Node 22) with `--expose-gc`, so the heap is read after a collection.
 */
import { MAX_LEARNED_VALUE_BYTES } from '../worker/core/session/learned-envelope';
import { VerifiedTokens } from '../worker/core/session/verified-tokens';

interface Opened {
  ok: true;
  originId: string;
  value: string;
  signedWith: 'current';
}

const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('run with node --expose-gc (npm run bench:memory does)');

function heapAfterCollection(): number {
  collect!();
  return process.memoryUsage().heapUsed;
}

const ENVELOPES = 10_000;
const before = heapAfterCollection();
const memory = new VerifiedTokens<Opened>({ bytesOf: (opened) => opened.value.length + opened.originId.length });
for (let i = 0; i < ENVELOPES; i++) {
  // Flat strings as the runtime's header reads give them (no ropes), each value distinct.
  const value = Buffer.from(crypto.getRandomValues(new Uint8Array(1536))).toString('base64url');
  const padded = value.padEnd(MAX_LEARNED_VALUE_BYTES, 'x').slice(0, MAX_LEARNED_VALUE_BYTES);
  const envelope = `${Buffer.from(padded).toString('base64url')}.${i}.${'k'.repeat(43)}`;
  memory.remember(`header:mcp-session-id\n${envelope}`, {
    ok: true,
    originId: 'app-1',
    value: padded,
    signedWith: 'current',
  });
}
const heapMiB = (heapAfterCollection() - before) / 1024 / 1024;
console.log(
  JSON.stringify({
    envelopesRemembered: ENVELOPES,
    entriesKept: memory.size,
    chargedMiB: +(memory.bytes / 1024 / 1024).toFixed(2),
    heapMiB: +heapMiB.toFixed(2),
  }),
);
