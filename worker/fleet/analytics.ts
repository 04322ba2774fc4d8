/**
 * One Workers Analytics Engine data point per routing decision, when the optional binding
 * `AFFINITY_ANALYTICS` is configured: the history and SQL that the live figures do not keep.
 * `writeDataPoint` queues the point and returns at once (the runtime sends it after the response), so
 * nothing is awaited on the request's path.
 *
 * Layout (README, "Analytics Engine", has the SQL): index1 = origin; blob1 origin, blob2 decision,
 * blob3 reason, blob4 cookie outcome, blob5 status class, blob6 location (Cloudflare colo), blob7
 * client failure; double1 duration (ms to response headers), double2 origins tried, double3 status.
 * Never a session id, a cookie value or a client address.
 */
import { statusClass } from '../core/fleet/traffic-counts';
import type { DecisionRecord } from '../core/routing/decision-record';
import { errorMessage, logEvent } from '../log';

export function decisionDataPoint(record: DecisionRecord, location: string | undefined): AnalyticsEngineDataPoint {
  return {
    indexes: [record.origin ?? 'none'],
    blobs: [
      record.origin ?? '',
      record.decision,
      record.reason ?? '',
      record.cookie,
      statusClass(record.status),
      location ?? '',
      record.clientFailure ?? '',
    ],
    doubles: [record.durationMs, record.tried, record.status],
  };
}

/** Writes the decision's data point; a refusal of the runtime is logged, never the request's problem. */
export function writeDecision(dataset: AnalyticsEngineDataset, record: DecisionRecord, location: string | undefined) {
  try {
    dataset.writeDataPoint(decisionDataPoint(record, location));
  } catch (error) {
    logEvent('warn', 'analytics.write-failed', { error: errorMessage(error) });
  }
}
