/**
 * `npm run bench:profile`: where a request's time goes inside workerd. Runs the bare pass-through
 * Worker and edge-affinity (valid cookies) under load with the V8 sampling profiler attached through
 * workerd's inspector, and prints the main thread's busy samples per request and the functions that
 * take them. The inspector makes console.log dearer than it is, so read the logging share with care.
 */
import WebSocket from 'ws';
import { buildBundle, openSessions, startEdgeAffinity, startPassThrough } from './http-load';
import { runLoad } from './load';
import { startOrigin } from './origin';

const INSPECTOR_PORT = 9339;
const SAMPLE_INTERVAL_US = 100;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}

async function main(): Promise<void> {
  buildBundle();
  const origin = await startOrigin();
  const profiling = { inspectorPort: INSPECTOR_PORT };
  const start = {
    'pass-through': () => startPassThrough(origin.url, profiling),
    'edge-affinity': () => startEdgeAffinity([origin.url, origin.url, origin.url], profiling),
  };
  for (const target of ['pass-through', 'edge-affinity'] as const) {
    const mf = await start[target]();
    try {
      const url = (await mf.ready).href;
      const cookies = target === 'edge-affinity' ? await openSessions(url, 16) : undefined;
      await runLoad(url, { connections: 16, seconds: 1, cookies });
      const { nodes, requests } = await profiled(() => runLoad(url, { connections: 16, seconds: 4, cookies }));
      report(target, nodes, requests);
    } finally {
      await mf.dispose();
    }
  }
  origin.stop();
}

/** Runs `load` with the profiler on the Worker's isolate (the inspector target "core:user:"). */
async function profiled(
  load: () => Promise<{ requests: number }>,
): Promise<{ nodes: ProfileNode[]; requests: number }> {
  const targets = (await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json`)).json()) as {
    title: string;
    webSocketDebuggerUrl: string;
  }[];
  const target = targets.find((t) => t.title.endsWith('core:user:'))!;
  const socket = new WebSocket(target.webSocketDebuggerUrl.replace('localhost', '127.0.0.1'));
  await new Promise((ready) => socket.once('open', ready));
  let next = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
  });
  const send = <T>(method: string, params: object = {}) =>
    new Promise<T>((answer) => {
      waiting.set(++next, answer as (result: unknown) => void);
      socket.send(JSON.stringify({ id: next, method, params }));
    });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: SAMPLE_INTERVAL_US });
  await send('Profiler.start');
  const { requests } = await load();
  const { profile } = await send<{ profile: { nodes: ProfileNode[] } }>('Profiler.stop');
  socket.close();
  return { nodes: profile.nodes, requests };
}

function report(target: string, nodes: ProfileNode[], requests: number): void {
  const bySelf = new Map<string, number>();
  let busy = 0;
  for (const node of nodes) {
    if (node.callFrame.functionName === '(idle)') continue;
    const where = node.callFrame.url ? ` ${node.callFrame.url.split('/').pop()}:${node.callFrame.lineNumber + 1}` : '';
    const name = `${node.callFrame.functionName || '(anonymous)'}${where}`;
    bySelf.set(name, (bySelf.get(name) ?? 0) + node.hitCount);
    busy += node.hitCount;
  }
  console.log(
    `\n${target}: ${requests} requests, ${(busy / requests).toFixed(3)} busy samples per request (1 sample ≈ ${SAMPLE_INTERVAL_US} µs)`,
  );
  for (const [name, hits] of [...bySelf].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    console.log(`  ${((100 * hits) / busy).toFixed(1).padStart(5)}%  ${name}`);
  }
  const inclusive = inclusiveByFunction(nodes);
  console.log('  inclusive (the function and what it calls):');
  for (const [name, hits] of [...inclusive]
    .filter(([n]) => n.includes('.js:'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)) {
    console.log(`  ${((100 * hits) / busy).toFixed(1).padStart(5)}%  ${name}`);
  }
}

/** Samples in each function or anything it called, counted once per call stack. */
function inclusiveByFunction(nodes: ProfileNode[]): Map<string, number> {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  const visit = (node: ProfileNode, onStack: Set<string>): number => {
    const name = `${node.callFrame.functionName || '(anonymous)'}${node.callFrame.url ? ` ${node.callFrame.url.split('/').pop()}:${node.callFrame.lineNumber + 1}` : ''}`;
    const fresh = !onStack.has(name);
    if (fresh) onStack.add(name);
    let hits = node.callFrame.functionName === '(idle)' ? 0 : node.hitCount;
    for (const child of node.children ?? []) hits += visit(byId.get(child)!, onStack);
    if (fresh) {
      onStack.delete(name);
      totals.set(name, (totals.get(name) ?? 0) + hits);
    }
    return hits;
  };
  visit(nodes[0]!, new Set());
  return totals;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
