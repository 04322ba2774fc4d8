/**
 * What a quiet spell costs: after an isolate has been idle longer than the probe interval, its first
 * request waits for a fresh health snapshot (bounded by FRESH_SNAPSHOT_WAIT_MS) instead of routing by
 * an old one. Measured as the latency of that first request minus the latency of the request right
 * behind it, which finds the snapshot fresh, over repeated quiet spells.
 */
import { FRESH_SNAPSHOT_WAIT_MS } from '../worker/core/health/snapshot-age';
import { startEdgeAffinity } from './http-load';
import { median } from './stats';

const INTERVAL_S = 1;
const SPELLS = 12;

export interface QuietSpellResult {
  spells: number;
  intervalSeconds: number;
  medianAddedMs: number;
  maxAddedMs: number;
  boundMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timed(url: string, cookie: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, { headers: { cookie } });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`quiet-spell request answered ${response.status}`);
  return performance.now() - started;
}

export async function runQuietSpell(originUrl: string): Promise<QuietSpellResult> {
  const mf = await startEdgeAffinity([originUrl, originUrl, originUrl], { health: { interval: INTERVAL_S } });
  try {
    const url = (await mf.ready).href;
    const first = await fetch(url);
    await first.arrayBuffer();
    const cookie = first.headers.getSetCookie()[0]!.split(';')[0]!;
    for (let i = 0; i < 20; i++) await timed(url, cookie); // warm up
    const added: number[] = [];
    for (let spell = 0; spell < SPELLS; spell++) {
      await sleep(INTERVAL_S * 1000 + 300);
      const afterQuiet = await timed(url, cookie);
      const warm = await timed(url, cookie);
      added.push(afterQuiet - warm);
    }
    return {
      spells: SPELLS,
      intervalSeconds: INTERVAL_S,
      medianAddedMs: median(added),
      maxAddedMs: Math.max(...added),
      boundMs: FRESH_SNAPSHOT_WAIT_MS,
    };
  } finally {
    await mf.dispose();
  }
}
