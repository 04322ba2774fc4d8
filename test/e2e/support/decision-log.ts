/**
 * The worker's decision log (README, "Decision logs") read as the JSON it is, so that tests assert
 * on its fields (`origin`, `decision`, `attempts`) instead of on substrings of a line.
 */
import { until } from '../../support/wait';

/** One proxied request as the worker logs it. */
export interface LoggedDecision {
  event: 'request';
  method: string;
  path: string;
  origin: string | null;
  decision: 'new' | 'pinned' | 'repinned';
  reason?: string;
  cookie: string;
  /** With `affinity.learn`: what the request carried under the learned names, and which one. */
  envelope?: string;
  learned?: string;
  status: number;
  /** Origins tried, the one that answered included. */
  tried: number;
  failOpen: boolean;
  /** The failed attempts, in order. */
  attempts: {
    origin: string;
    kind: 'not-reached' | 'may-have-reached';
    reason: string;
    status?: number;
    error?: string;
  }[];
  /** Why no further origin was tried, when none answered. */
  stopped?: string;
  /** The `Affinity-Control` directives followed, and where a replay came from. */
  control?: string[];
  replayedFrom?: string;
}

/** The decision records among log lines; other events and lines that are not JSON are left out. */
export function decisionsIn(lines: readonly string[]): LoggedDecision[] {
  return lines.flatMap((line) => {
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      return [];
    }
    const isDecision =
      typeof record === 'object' && record !== null && (record as { event?: unknown }).event === 'request';
    return isDecision ? [record as LoggedDecision] : [];
  });
}

/**
 * The decision records logged from `mark` on that match `where`, once there are `count` of them:
 * the runtime hands its log lines over a little after the response, so they are awaited (5 s at most).
 */
export async function awaitDecisions(
  logs: readonly string[],
  mark: number,
  count: number,
  where: (decision: LoggedDecision) => boolean = () => true,
): Promise<LoggedDecision[]> {
  let found = 0;
  return until(
    () => `${count} decision log lines (found ${found})`,
    () => {
      const decisions = decisionsIn(logs.slice(mark)).filter(where);
      found = decisions.length;
      return decisions.length >= count && decisions;
    },
  );
}
