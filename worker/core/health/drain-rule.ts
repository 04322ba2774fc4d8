/**
 * When a draining origin is drained: no session pinned to it has made a request for `?idle=`
 * seconds, as far as the fleet aggregator's reports can vouch for it. Pure.
 */

/** What the aggregator knows of one origin that bears on "drained". */
export interface DrainFacts {
  /** When the aggregator answered (its clock). */
  takenAt: number;
  /** Since when it has watched: a question about the time before cannot be answered from it. */
  watchingSince: number;
  /** When the origin last answered a request, anywhere (0 for never). */
  lastRequestAt: number;
}

/** What "drained" takes into account besides the reports. */
export interface DrainedRule {
  /** How long the origin's sessions must have made no request. */
  idleMs: number;
  /** When the origin became draining (the coordinator's word); undefined when that is not known. */
  drainingSince: number | undefined;
  /** How late an isolate may report a request it served while the origin was still active. */
  reportIntervalMs: number;
  /** How late an isolate that knows the origin drains reports a request to it. */
  drainReportLagMs: number;
}

/**
 * Requests from before the drain may arrive up to `reportIntervalMs` after it began, requests during
 * it within `drainReportLagMs`: until both have passed, a quiet origin is not yet known to be quiet.
 * A request from before the drain matters only while it is younger than `idleMs`, so once the drain is
 * older than that (plus the lag) there is none left to wait for: a short `?idle=` is answered as soon
 * as it can be. Only what the aggregator watched counts, and an unknown start of the drain counts as
 * now: the answer is never a guess that lets a pod stop while its sessions are in use.
 */
export function isDrained(facts: DrainFacts, rule: DrainedRule): boolean {
  const now = facts.takenAt;
  const quietFor = rule.idleMs + rule.drainReportLagMs;
  const drainAge = rule.drainingSince === undefined ? 0 : now - rule.drainingSince;
  return (
    drainAge >= Math.min(rule.reportIntervalMs, rule.idleMs) + rule.drainReportLagMs &&
    now - facts.watchingSince >= quietFor &&
    now - facts.lastRequestAt >= quietFor
  );
}
