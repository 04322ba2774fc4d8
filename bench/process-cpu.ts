/**
 * CPU time of a process (all its threads), read from /proc: how much a workerd spent serving a run,
 * and so what a request costs it. Linux only; elsewhere the figures are reported as unavailable.
 */
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux this runs on

/** Pids of the processes whose executable is `name`. */
export function pidsOf(name: string): Set<number> {
  const pids = new Set<number>();
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.add(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

/** User plus system CPU of a process, in milliseconds; NaN when /proc cannot say. */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
