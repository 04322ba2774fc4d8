/**
 * A request body that can be sent again to another origin when the first one fails to connect.
 *
 * Bodies up to 64 KiB are buffered (the limit of the contract); a larger body streams through
 * untouched and cannot be replayed. A body of unknown length (chunked) is read up to the limit for at
 * most half a second: if it ends by then it is buffered; otherwise what was read is sent ahead of the
 * rest of the stream, so that a client that streams and waits for the answer (a duplex stream) is not
 * held up waiting for a body that will not end before it gets one.
 */

export const REPLAY_LIMIT = 64 * 1024;
export const BUFFERING_WAIT_MS = 500;

export interface ReplayableBody {
  readonly replayable: boolean;
  /** The body for one attempt. A non-replayable body can be taken once. */
  take(): BodyInit | null;
}

const NO_BODY: ReplayableBody = { replayable: true, take: () => null };

export async function prepareBody(request: Request): Promise<ReplayableBody> {
  if (!request.body) return NO_BODY;
  const declared = request.headers.get('content-length');
  if (declared !== null) {
    const length = Number(declared);
    if (length > REPLAY_LIMIT || !Number.isFinite(length)) return streamed(request.body);
    return buffered(new Uint8Array(await request.arrayBuffer()));
  }
  return readUpToLimit(request.body);
}

function buffered(bytes: Uint8Array): ReplayableBody {
  // Each attempt gets its own copy: a runtime may take ownership of a buffer it sends.
  return { replayable: true, take: () => bytes.slice() };
}

function streamed(body: ReadableStream<Uint8Array>): ReplayableBody {
  return { replayable: false, take: () => body };
}

async function readUpToLimit(body: ReadableStream<Uint8Array>): Promise<ReplayableBody> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), BUFFERING_WAIT_MS)));
  try {
    while (size <= REPLAY_LIMIT) {
      const next = reader.read();
      const result = await Promise.race([next, late]);
      if (result === 'late') return streamed(prepend(chunks, reader, next));
      if (result.done) return buffered(concat(chunks, size));
      chunks.push(result.value);
      size += result.value.byteLength;
    }
    return streamed(prepend(chunks, reader));
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** A stream of the chunks already read, then the read under way (if any), then the rest of the reader. */
function prepend(
  chunks: Uint8Array[],
  rest: ReadableStreamDefaultReader<Uint8Array>,
  pending?: Promise<ReadableStreamReadResult<Uint8Array>>,
): ReadableStream<Uint8Array> {
  let inFlight = pending;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const head = chunks.shift();
      if (head) return controller.enqueue(head);
      const read = inFlight ?? rest.read();
      inFlight = undefined;
      const { done, value } = await read;
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return rest.cancel(reason);
    },
  });
}
