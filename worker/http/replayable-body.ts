/**
 * A request body that can be sent again to another origin when the first one fails to connect.
 *
 * Bodies up to 64 KiB are buffered (the limit of the contract); a larger body streams through
 * untouched and cannot be replayed. A body of unknown length (chunked) is read up to the limit: if it
 * ends there it is buffered, otherwise what was read is sent ahead of the rest of the stream.
 */

export const REPLAY_LIMIT = 64 * 1024;

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
  while (size <= REPLAY_LIMIT) {
    const { done, value } = await reader.read();
    if (done) return buffered(concat(chunks, size));
    chunks.push(value);
    size += value.byteLength;
  }
  return streamed(prepend(chunks, reader));
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

/** A stream of the chunks already read, then the rest of the reader. */
function prepend(chunks: Uint8Array[], rest: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const head = chunks.shift();
      if (head) return controller.enqueue(head);
      const { done, value } = await rest.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return rest.cancel(reason);
    },
  });
}
