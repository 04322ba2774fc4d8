/**
 * What the proxy hears in an origin's `Affinity-Control` answer header: the grammar is
 * core/control/affinity-control.ts, what a session directive may do core/control/session-control.ts; here the
 * origin's word about itself is handed to the reporter (fleet-wide, behind the response), and what is
 * not followed is logged, once per answer, each directive with why. The client never sees the header
 * and never gets an error for it.
 *
 * An answer without the header costs the proxy one header lookup and nothing else.
 */
import {
  AFFINITY_CONTROL_HEADER,
  parseAffinityControl,
  sessionDirectiveText,
  standingDirectiveTexts,
  type IgnoredDirective,
} from '../core/control/affinity-control';
import type { Availability } from '../core/routing/route-plan';
import type { RoutingTable } from '../core/routing/routing-table';
import { resolveSessionDirective, type SessionAction } from '../core/control/session-control';
import type { ControlReporter } from '../health/control-reporter';
import { logEvent } from '../log';

export { AFFINITY_CONTROL_HEADER };

/** What the answering origin's header makes the proxy do. */
export interface HeardControl {
  /** The session directive to follow, when there was a valid one. */
  action?: SessionAction;
  /** The directives followed, as the decision log writes them. */
  followed: string[];
}

export interface Hearing {
  table: RoutingTable;
  availability(index: number): Availability;
  reporter: ControlReporter;
  /** The origin that answered. */
  served: number;
  replayed: boolean;
  replayable: boolean;
  /** The answer switched protocols (a WebSocket). */
  upgraded: boolean;
  /** For the log line of ignored directives. */
  request: { method: string; path: string };
  now: number;
}

/**
 * What an answer's `Affinity-Control` makes the proxy do; undefined when it has none, which costs one
 * header lookup.
 */
export function readOriginControl(response: Response, hearing: Hearing): HeardControl | undefined {
  const text = response.headers.get(AFFINITY_CONTROL_HEADER);
  return text === null ? undefined : hearControl(text, hearing);
}

/** Follows the origin's word where it can (`text`: the header's value), and says what that was. */
function hearControl(text: string, hearing: Hearing): HeardControl {
  const { table, served } = hearing;
  const { session, standing, ignored } = parseAffinityControl(text);
  const origin = table.origins[served]!.id;
  const followed: string[] = [];
  let action: SessionAction | undefined;
  if (session) {
    const resolution = resolveSessionDirective(session, {
      indexOf: table.indexOf,
      origins: table.origins,
      availability: hearing.availability,
      served,
      replayed: hearing.replayed,
      replayable: hearing.replayable,
      upgraded: hearing.upgraded,
    });
    if (resolution.ok) {
      action = resolution.action;
      followed.push(sessionDirectiveText(session));
    } else {
      ignored.unshift({ directive: sessionDirectiveText(session), reason: resolution.reason });
    }
  }
  const standingTexts = standingDirectiveTexts(standing);
  if (standingTexts.length > 0) {
    hearing.reporter.record(origin, standing, hearing.now);
    followed.push(...standingTexts);
  }
  if (ignored.length > 0) logIgnored(origin, hearing.request, ignored);
  return { action, followed };
}

/** One event per answer, whatever the number of directives ignored. Never the request's query or cookies. */
function logIgnored(origin: string, request: Hearing['request'], ignored: IgnoredDirective[]): void {
  logEvent('warn', 'control.ignored', { origin, method: request.method, path: request.path, ignored });
}
