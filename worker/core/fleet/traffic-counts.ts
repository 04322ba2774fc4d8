/**
 * What one isolate counts of the requests it proxies, per origin, between two reports to the fleet
 * aggregator: requests, new sessions, moved sessions by reason, failed attempts by kind, responses by
 * status class, response-header latency and the distinct sessions served. Everything here merges by
 * addition (counts), by maximum (`lastRequestAt`) or by register maximum (the session sketch), so
 * reports of any number of isolates combine into the fleet's figures in any order.
 */
import { addToSketch, emptySketch, encodeSketch, mergeWire, type HllRegisters, type HllWire } from './hyperloglog';
import { emptyHistogram, mergeHistogram, observeLatency, type LatencyHistogram } from './latency-histogram';
import { FAILURE_REASONS, type FailureReason } from '../failover/failed-attempt';
import type { Decision } from '../routing/route-plan';
import type { SettledReason } from '../routing/route-settlement';
/** Why a session moved to an origin: a re-pin's reason, or `repin` (its origin handed it over). */
export type MoveReason = SettledReason | 'repin';
/**
 * Every move reason, for those who list them (the metrics). `SettledReason` is a type in route-settlement.ts;
 * the two checks below tie this list to it both ways, so a reason added there fails to compile here.
 */
export const MOVE_REASONS = [
  'unhealthy',
  'removed',
  'disabled',
  'expired',
  'replay',
  'rebalance',
  'repin',
  ...FAILURE_REASONS,
] as const satisfies readonly MoveReason[];
const EVERY_MOVE_REASON_LISTED: [Exclude<MoveReason, (typeof MOVE_REASONS)[number]>] extends [never] ? true : never =
  true;
void EVERY_MOVE_REASON_LISTED;
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

export interface OriginCounts {
  /** Requests this origin answered. */
  requests: number;
  /** Of those, requests of sessions that had no usable pin. */
  newSessions: number;
  /** Sessions that moved to this origin, by why they left their own. */
  moved: Partial<Record<MoveReason, number>>;
  /** Attempts to reach this origin that failed (and went on to the next origin, or gave up), by reason. */
  failures: Partial<Record<FailureReason, number>>;
  /** Its answers by status class. */
  responses: Partial<Record<StatusClass, number>>;
  /** Time to response headers. */
  latency: LatencyHistogram;
  /** Their sum, in ms (a Prometheus histogram has one). */
  latencySumMs: number;
  /** When it last answered a request (ms since the epoch; 0 for never). */
  lastRequestAt: number;
}

/** The part of a routing decision that is counted (http/decision-log.ts has the whole record). */
export interface CountedRequest {
  origin: string | null;
  decision: Decision;
  /** With `repinned`, why the session moved. */
  reason?: SettledReason;
  status: number;
  durationMs: number;
  failures: readonly { originId: string; reason: FailureReason }[];
  clientFailure?: string;
  /** The origin that answered handed the session over to this one (`Affinity-Control: repin=<id>`). */
  handedOverTo?: string;
}

/** One isolate's report: counts and session sketches per origin, and requests no origin answered. */
export interface TrafficBatch {
  origins: Record<string, OriginCounts>;
  sessions: Record<string, HllWire>;
  /** By cause: a client failure's kind, or `no-origin` (502/503 from the worker itself). */
  unserved: Record<string, number>;
}

export function emptyCounts(): OriginCounts {
  return {
    requests: 0,
    newSessions: 0,
    moved: {},
    failures: {},
    responses: {},
    latency: emptyHistogram(),
    latencySumMs: 0,
    lastRequestAt: 0,
  };
}

export function statusClass(status: number): StatusClass {
  return STATUS_CLASSES[Math.min(4, Math.max(0, Math.floor(status / 100) - 1))]!;
}

/** Adds `from` into `into`. */
export function mergeCounts(into: OriginCounts, from: OriginCounts): void {
  into.requests += from.requests;
  into.newSessions += from.newSessions;
  addEach(into.moved, from.moved);
  addEach(into.failures, from.failures);
  addEach(into.responses, from.responses);
  mergeHistogram(into.latency, from.latency);
  into.latencySumMs += from.latencySumMs;
  into.lastRequestAt = Math.max(into.lastRequestAt, from.lastRequestAt);
}

export function addEach<K extends string>(into: Partial<Record<K, number>>, from: Partial<Record<K, number>>): void {
  for (const [key, n] of Object.entries(from) as [K, number][]) into[key] = (into[key] ?? 0) + n;
}

/**
 * A running tally; `drain()` hands it over as a batch and starts a new one. An isolate counts its
 * requests into one; a location object absorbs its isolates' batches into one (and an isolate takes
 * back a batch that never reached the fleet), which merges them exactly as the aggregator would.
 */
export class TrafficTally {
  #origins = new Map<string, OriginCounts>();
  #sessions = new Map<string, HllRegisters>();
  #unserved = new Map<string, number>();

  get isEmpty(): boolean {
    return this.#origins.size === 0 && this.#unserved.size === 0;
  }

  /**
   * Counts one proxied request; `sessionId` goes into the served origin's sketch, and nowhere else
   * (none for a request that names no session).
   */
  count(request: CountedRequest, sessionId: string | undefined, at: number): void {
    for (const { originId, reason } of request.failures) {
      const counts = this.#countsOf(originId);
      counts.failures[reason] = (counts.failures[reason] ?? 0) + 1;
    }
    if (request.origin === null) {
      const cause = request.clientFailure ?? 'no-origin';
      this.#unserved.set(cause, (this.#unserved.get(cause) ?? 0) + 1);
      return;
    }
    const counts = this.#countsOf(request.origin);
    counts.requests += 1;
    if (request.decision === 'new') counts.newSessions += 1;
    const { reason } = request;
    if (request.decision === 'repinned' && reason) {
      counts.moved[reason] = (counts.moved[reason] ?? 0) + 1;
    }
    if (request.handedOverTo !== undefined) {
      const to = this.#countsOf(request.handedOverTo);
      to.moved.repin = (to.moved.repin ?? 0) + 1;
    }
    const cls = statusClass(request.status);
    counts.responses[cls] = (counts.responses[cls] ?? 0) + 1;
    observeLatency(counts.latency, request.durationMs);
    counts.latencySumMs += request.durationMs;
    counts.lastRequestAt = Math.max(counts.lastRequestAt, at);
    if (sessionId === undefined) return;
    addToSketch(this.#sketchOf(request.origin), sessionId);
  }

  /** Merges a batch in: counts add, `lastRequestAt` takes the later, sketches take register maxima. */
  absorb(batch: TrafficBatch): void {
    for (const [id, counts] of Object.entries(batch.origins)) mergeCounts(this.#countsOf(id), counts);
    for (const [id, wire] of Object.entries(batch.sessions)) mergeWire(this.#sketchOf(id), wire);
    for (const [cause, n] of Object.entries(batch.unserved))
      this.#unserved.set(cause, (this.#unserved.get(cause) ?? 0) + n);
  }

  /** An origin in use at `at` by a request still open: its last request is dated then, nothing counted. */
  touch(originId: string, at: number): void {
    const counts = this.#countsOf(originId);
    counts.lastRequestAt = Math.max(counts.lastRequestAt, at);
  }

  drain(): TrafficBatch {
    const batch: TrafficBatch = {
      origins: Object.fromEntries(this.#origins),
      sessions: Object.fromEntries([...this.#sessions].map(([id, sketch]) => [id, encodeSketch(sketch)])),
      unserved: Object.fromEntries(this.#unserved),
    };
    this.#origins = new Map();
    this.#sessions = new Map();
    this.#unserved = new Map();
    return batch;
  }

  #sketchOf(originId: string): HllRegisters {
    let sketch = this.#sessions.get(originId);
    if (!sketch) this.#sessions.set(originId, (sketch = emptySketch()));
    return sketch;
  }

  #countsOf(originId: string): OriginCounts {
    let counts = this.#origins.get(originId);
    if (!counts) this.#origins.set(originId, (counts = emptyCounts()));
    return counts;
  }
}
