/**
 * Micro-benchmarks of the pure core, in Node 22 (the same V8 as workerd, whose clocks stand still
 * while a Worker computes, so CPU-bound loops cannot be timed inside it).
 */
import { performance } from 'node:perf_hooks';
import { importSigningKey, signAffinityToken, verifyAffinityToken } from '../worker/core/session/affinity-token';
import { parseConfigText } from '../worker/core/config/config-parse';
import { compileRoutingTable } from '../worker/core/routing/routing-table';
import { createSelector, type SelectionAlgorithm } from '../worker/core/routing/selector';
import { TrafficTally } from '../worker/core/fleet/traffic-counts';
import { sessionIds } from '../test/support/keys';

export interface MicroRow {
  name: string;
  value: number;
  unit: string;
}

const KEYS = sessionIds(20_000, 7);
const ALGORITHMS: SelectionAlgorithm[] = ['rendezvous', 'ring'];
const everyone = () => true;

export function origins(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    id: `app-${i + 1}`,
    url: `https://app-${i + 1}.internal.example.com`,
    weight: 1,
  }));
}

/** Calls `op` until `ms` have passed (after a warm-up of the same length); operations per second. */
function opsPerSecond(op: (i: number) => void, ms = 400): number {
  for (let i = 0, end = performance.now() + ms; performance.now() < end; i++) op(i);
  let count = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let j = 0; j < 100; j++) op(count++);
  }
  return count / ((performance.now() - start) / 1000);
}

async function asyncOpsPerSecond(op: (i: number) => Promise<unknown>, ms = 400): Promise<number> {
  for (let i = 0, end = performance.now() + ms; performance.now() < end; i++) await op(i);
  let count = 0;
  const start = performance.now();
  while (performance.now() - start < ms) await op(count++);
  return count / ((performance.now() - start) / 1000);
}

export async function runMicro(): Promise<MicroRow[]> {
  const rows: MicroRow[] = [];
  for (const algorithm of ALGORITHMS) {
    for (const n of [10, 100, 1000]) {
      const selector = createSelector(algorithm, origins(n));
      const value = opsPerSecond((i) => selector.pick(KEYS[i % KEYS.length]!, everyone, 1));
      rows.push({ name: `selection, ${algorithm}, ${n} origins`, value, unit: 'lookups/s' });
    }
  }
  const key = await importSigningKey('benchmark-secret');
  const claims = (i: number) => ({ originId: 'app-7', sessionId: KEYS[i % KEYS.length]!, expiresAt: 1_900_000_000 });
  const tokens = await Promise.all(KEYS.slice(0, 1000).map((_, i) => signAffinityToken(claims(i), key)));
  rows.push({
    name: 'cookie sign (HMAC-SHA256, WebCrypto)',
    value: await asyncOpsPerSecond((i) => signAffinityToken(claims(i), key)),
    unit: 'ops/s',
  });
  rows.push({
    name: 'cookie verify (crypto.subtle.verify)',
    value: await asyncOpsPerSecond((i) =>
      verifyAffinityToken(tokens[i % tokens.length]!, { current: key }, 1_800_000_000),
    ),
    unit: 'ops/s',
  });
  rows.push({
    name: 'count one request for the fleet view (tally, histogram, session sketch)',
    value: countingOps(),
    unit: 'ops/s',
  });
  for (const algorithm of ALGORITHMS) {
    rows.push({
      name: `cold start, 1,000 origins, ${algorithm} (parse + build + first pick)`,
      value: coldStartMs(algorithm),
      unit: 'ms',
    });
  }
  return rows;
}

/** Median of 15 cold starts: the configuration text parsed, the routing table built, one session placed. */
function coldStartMs(algorithm: SelectionAlgorithm): number {
  const text = JSON.stringify({ origins: origins(1000), affinity: { algorithm } });
  const times: number[] = [];
  for (let run = 0; run < 15; run++) {
    const start = performance.now();
    const parsed = parseConfigText(text);
    if (!parsed.ok) throw new Error('benchmark configuration must be valid');
    compileRoutingTable(parsed.config).selector.pick(KEYS[run]!, everyone, 1);
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[7]!;
}

/** What the proxy's one counting call does per request, over 10 origins, drained every 10,000 requests as a report would. */
function countingOps(): number {
  const tally = new TrafficTally();
  const records = Array.from({ length: 10 }, (_, i) => ({
    origin: `app-${i + 1}`,
    decision: 'pinned' as const,
    status: 200,
    durationMs: 3 + i,
    failures: [],
  }));
  return opsPerSecond((i) => {
    tally.count(records[i % 10]!, KEYS[i % KEYS.length]!, 1_800_000_000_000 + i);
    if (i % 10_000 === 9_999) tally.drain();
  });
}
