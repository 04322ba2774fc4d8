/**
 * What counting for the fleet view costs on the steady path: edge-affinity with counting on and with
 * it off (`AFFINITY_COUNTING=off`), loaded at the same time, each by its own load generator, round
 * after round. The throughput ratio is taken within each round (both share whatever the machine does
 * meanwhile) and the median over rounds reported, beside each workerd's CPU per request.
 */
import type { Miniflare } from 'miniflare';
import { openSessions, runLoad, startEdgeAffinity } from './http-load';
import { cpuMs, pidsOf } from './process-cpu';
import { median } from './report';

export interface CountingOverhead {
  rounds: number;
  seconds: number;
  connections: number;
  /** Median over rounds of (counting on req/s) / (counting off req/s), measured side by side. */
  ratio: number;
  ratios: number[];
  requestsPerSecondOn: number;
  requestsPerSecondOff: number;
  cpuMsPerRequestOn: number;
  cpuMsPerRequestOff: number;
  failures: number;
}

interface Side {
  mf: Miniflare;
  url: string;
  workerd?: number;
  cookies: string[];
  rps: number[];
  cpu: number;
  requests: number;
  failures: number;
}

async function startSide(originUrl: string, connections: number, bindings: Record<string, string>): Promise<Side> {
  const before = pidsOf('workerd');
  const mf = await startEdgeAffinity([originUrl, originUrl, originUrl], { bindings });
  const url = (await mf.ready).href;
  const workerd = [...pidsOf('workerd')].find((pid) => !before.has(pid));
  return { mf, url, workerd, cookies: await openSessions(url, connections), rps: [], cpu: 0, requests: 0, failures: 0 };
}

export async function runCountingOverhead(
  originUrl: string,
  { rounds, seconds, connections }: { rounds: number; seconds: number; connections: number },
): Promise<CountingOverhead> {
  const on = await startSide(originUrl, connections, {});
  const off = await startSide(originUrl, connections, { AFFINITY_COUNTING: 'off' });
  try {
    const warm = (side: Side) => runLoad(side.url, { connections, seconds: 1, cookies: side.cookies });
    await Promise.all([warm(on), warm(off)]);
    for (let round = 0; round < rounds; round++) {
      const cpuBefore = [cpuMs(on.workerd), cpuMs(off.workerd)];
      const [a, b] = await Promise.all(
        [on, off].map((side) => runLoad(side.url, { connections, seconds, cookies: side.cookies })),
      );
      for (const [side, result, before] of [
        [on, a!, cpuBefore[0]!],
        [off, b!, cpuBefore[1]!],
      ] as const) {
        side.rps.push(result.requestsPerSecond);
        side.cpu += cpuMs(side.workerd) - before;
        side.requests += result.requests;
        side.failures += result.failures;
      }
      console.log(
        `  round ${round + 1}: counting on ${Math.round(a!.requestsPerSecond)} / off ${Math.round(b!.requestsPerSecond)} req/s`,
      );
    }
    const ratios = on.rps.map((rps, i) => rps / off.rps[i]!);
    return {
      rounds,
      seconds,
      connections,
      ratio: median(ratios),
      ratios,
      requestsPerSecondOn: median(on.rps),
      requestsPerSecondOff: median(off.rps),
      cpuMsPerRequestOn: on.cpu / on.requests,
      cpuMsPerRequestOff: off.cpu / off.requests,
      failures: on.failures + off.failures,
    };
  } finally {
    await Promise.all([on.mf.dispose(), off.mf.dispose()]);
  }
}
