/**
 * The client's request body as the origins get it: buffered when it can be replayed on another origin,
 * streamed otherwise, and checked on the way, so that a failure on the client's side is never taken
 * for a failure of the origin.
 *
 * - GET and HEAD: the Workers runtime cannot send them with a body, yet a client may declare an empty
 *   one (`Content-Length: 0`, an empty chunked body). Empty: forwarded as an ordinary GET/HEAD. Not
 *   empty: refused as the client's error.
 * - A declared body up to 64 KiB (the contract's replay limit) is buffered, within `proxy.bodyTimeout`;
 *   a larger one streams and cannot be replayed.
 * - A body of unknown length (chunked) is read up to the limit for at most half a second: if it ends by
 *   then it is buffered; otherwise what was read goes ahead of the rest of the stream, so that a client
 *   that streams and waits for the answer (a duplex stream) is not held up.
 *
 * A streamed body is guarded: when the client's side fails, the attempt is aborted before the body is
 * ended, so the origin sees a cut connection rather than a short body that looks complete (workerd ends
 * a chunked upload cleanly when a stream it reads errors), and the failure is recorded as the client's.
 */
import type { ClientFailure } from '../core/failover/client-failure';
import { errorMessage } from '../log';
import { guardedStream, readChunks, type ChunkRead } from './stream-reading';

export const REPLAY_LIMIT = 64 * 1024;
export const BUFFERING_WAIT_MS = 500;

export interface OutgoingBody {
  /** No body at all: the request goes out without one (and without `Content-Length`). */
  readonly none: boolean;
  readonly replayable: boolean;
  /**
   * The body of one attempt; a streamed one can be taken once and aborts `attempt` if the client fails.
   * `sent` runs once the whole body is on its way to the origin: at once for none or a buffered one,
   * when the client's stream ends for a streamed one (a slow upload is the client's time, not load on
   * the origin).
   */
  take(attempt: AbortController, sent: () => void): BodyInit | null;
  /** Set once the client's side failed while streaming: then the attempt's failure is the client's. */
  readonly clientFailure: ClientFailure | undefined;
}

export type BodyPreparation = { ok: true; body: OutgoingBody } | { ok: false; failure: ClientFailure };

const NO_BODY: BodyPreparation = {
  ok: true,
  body: {
    none: true,
    replayable: true,
    take: (_attempt, sent) => (sent(), null),
    clientFailure: undefined,
  },
};

/** Methods whose requests the runtime will not send with a body. */
const BODYLESS = new Set(['GET', 'HEAD']);

export async function prepareBody(request: Request, bodyTimeoutMs: number): Promise<BodyPreparation> {
  if (!request.body) return NO_BODY;
  const declared = declaredLength(request.headers);
  if (BODYLESS.has(request.method)) return emptyOrRefused(request.body, declared, bodyTimeoutMs);
  if (declared !== undefined && declared > REPLAY_LIMIT)
    return { ok: true, body: streamed([], request.body, declared) };
  const waitMs = declared === undefined ? BUFFERING_WAIT_MS : bodyTimeoutMs;
  const read = await readChunks(request.body.getReader(), REPLAY_LIMIT, waitMs);
  if (read.status === 'done') return { ok: true, body: buffered(read.bytes) };
  if (read.status === 'failed') return { ok: false, failure: { kind: 'body-incomplete', error: read.error } };
  // A declared body has had its full time; an unknown one may just be a stream that takes its time.
  if (read.status === 'late' && declared !== undefined) return timedOut(read);
  return { ok: true, body: streamed(read.chunks, read.rest, declared, read.pending) };
}

/** `Content-Length` as workerd framed the body (it refuses malformed values before the worker runs). */
function declaredLength(headers: Headers): number | undefined {
  const value = headers.get('content-length');
  return value === null ? undefined : Number(value);
}

async function emptyOrRefused(
  body: ReadableStream<Uint8Array>,
  declared: number | undefined,
  bodyTimeoutMs: number,
): Promise<BodyPreparation> {
  if (declared === 0) return NO_BODY;
  const refused: BodyPreparation = {
    ok: false,
    failure: { kind: 'body-not-allowed', error: 'a GET or HEAD request cannot be forwarded with a body' },
  };
  if (declared !== undefined) return refused;
  const read = await readChunks(body.getReader(), 0, bodyTimeoutMs);
  if (read.status === 'failed') return { ok: false, failure: { kind: 'body-incomplete', error: read.error } };
  if (read.status === 'late') return timedOut(read);
  if (read.status === 'done') return NO_BODY; // nothing but the end: a limit of 0 bytes was not passed
  read.rest.cancel('a GET or HEAD body is not forwarded').catch(() => {});
  return refused;
}

function timedOut(read: Extract<ChunkRead, { status: 'late' }>): BodyPreparation {
  // The client is still sending: stop reading so that the runtime can close its connection.
  read.rest.cancel('request body timed out').catch(() => {});
  return { ok: false, failure: { kind: 'body-timeout', error: 'the request body did not arrive in time' } };
}

/** The runtime copies a buffer it sends (fetch's body extraction), so one buffer serves every attempt. */
function buffered(bytes: Uint8Array): OutgoingBody {
  return { none: false, replayable: true, take: (_attempt, sent) => (sent(), bytes), clientFailure: undefined };
}

function streamed(
  head: Uint8Array[],
  rest: ReadableStream<Uint8Array> | ReadableStreamDefaultReader<Uint8Array>,
  declared: number | undefined,
  pending?: Promise<ReadableStreamReadResult<Uint8Array>>,
): OutgoingBody {
  const body: { -readonly [K in keyof OutgoingBody]: OutgoingBody[K] } = {
    none: false,
    replayable: false,
    clientFailure: undefined,
    take(attempt, sent) {
      const reader = rest instanceof ReadableStream ? rest.getReader() : rest;
      const stream = guardedStream(head, reader, pending, {
        onEnd: sent,
        onClientFailure: (error) => {
          body.clientFailure = { kind: 'body-incomplete', error: errorMessage(error) };
          attempt.abort(body.clientFailure);
        },
      });
      // A declared length keeps its framing: the origin gets Content-Length, not a chunked body.
      return declared === undefined ? stream : stream.pipeThrough(new FixedLengthStream(declared));
    },
  };
  return body;
}
