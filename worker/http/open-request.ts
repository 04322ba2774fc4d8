/**
 * A request to a draining origin keeps that origin in use until its response has been delivered,
 * not only at its start: "drained" (core/health/drain-rule.ts) is judged from the last request the fleet saw,
 * so an upload of 14 s, or a download still streaming, must not look idle while it runs.
 *
 * Every request is counted when its response headers are in (dated then, not at its start). While a
 * request to a draining origin is open — its upload before that, its response body after — this
 * isolate also marks the origin in use every drain report interval (`TrafficReporter.touch`, which
 * makes a report due within that interval), and once more when the response has been delivered. Only
 * requests to an origin that is draining when they start or answer pay for it (a timer, and the
 * response body piped through a stream); every other response passes with no copy of its body.
 *
 * What this leaves out, said in the README: a response that began before its origin was draining (as
 * far as this isolate knows) is dated at its headers, and a WebSocket at its upgrade.
 */
import type { Exchange } from './exchange';

/** The shortest period between two marks of an open request, whatever the drain interval (tests set it to 0). */
const MIN_TOUCH_INTERVAL_MS = 100;

export interface OpenRequest {
  /**
   * The response the client gets: piped, to see its end, when its origin is draining. `count` is
   * called at once, with the time its headers came.
   */
  deliver(response: Response, answeredBy: number | undefined, count: (at: number) => void): Response;
  /** Ends the request's marks without a response (something threw before one was made). */
  close(): void;
}

/** Watches a request whose first origin is `index` (undefined: it has none). */
export function openRequest(exchange: Exchange, index: number | undefined): OpenRequest {
  const { isolate, table, incoming, background } = exchange;
  const draining = (i: number | undefined) => i !== undefined && table.origins[i]!.state === 'draining';
  const touch = (i: number) => {
    const now = Date.now();
    isolate.traffic.touch(table.origins[i]!.id, now);
    isolate.traffic.scheduleReport(() => isolate.locationObject(incoming.env), now, background);
  };
  const countingOn = incoming.env.AFFINITY_COUNTING !== 'off';
  let timer: ReturnType<typeof setInterval> | undefined;
  const keepInUse = (i: number) => {
    if (countingOn && timer === undefined)
      timer = setInterval(() => touch(i), Math.max(isolate.traffic.drainIntervalMs, MIN_TOUCH_INTERVAL_MS));
  };
  const stop = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };
  if (draining(index)) keepInUse(index!);
  return {
    close: stop,
    deliver(response, answeredBy, count) {
      stop();
      count(Date.now());
      if (!draining(answeredBy) || !response.body || response.webSocket) return response;
      keepInUse(answeredBy!);
      const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
      const delivered = () => {
        stop();
        if (countingOn) touch(answeredBy!); // its last moment in use, reported in time
      };
      // Not a background task: the response itself, which keeps the request alive while it streams.
      void response.body.pipeTo(writable).then(delivered, delivered);
      const { status, statusText, headers } = response;
      return new Response(readable, { status, statusText, headers });
    },
  };
}
