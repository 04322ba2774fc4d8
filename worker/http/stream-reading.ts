/**
 * Reading a client's body stream: up to a limit within a deadline, and passing the rest on in a way
 * that tells the client's failures apart from the origin's.
 */
import { errorMessage } from '../log';

export type ChunkRead =
  /** The stream ended within the limit and the time: all of it. */
  | { status: 'done'; bytes: Uint8Array }
  /** More than `limit` bytes: those read so far, and the rest. */
  | { status: 'over'; chunks: Uint8Array[]; rest: ReadableStreamDefaultReader<Uint8Array>; pending?: undefined }
  /** The time ran out: what was read, the read under way, and the rest. */
  | {
      status: 'late';
      chunks: Uint8Array[];
      rest: ReadableStreamDefaultReader<Uint8Array>;
      pending: Promise<ReadableStreamReadResult<Uint8Array>>;
    }
  /** The stream failed: the client left or sent a broken body. */
  | { status: 'failed'; error: string };

/** Reads until the stream ends, passes `limit` bytes, fails, or `waitMs` runs out. */
export async function readChunks(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  limit: number,
  waitMs: number,
): Promise<ChunkRead> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), waitMs)));
  try {
    while (size <= limit) {
      const next = reader.read();
      const result = await Promise.race([next, late]);
      if (result === 'late') {
        next.catch(() => {}); // its failure is seen by whoever reads on, or by nobody if the body is dropped
        return { status: 'late', chunks, rest: reader, pending: next };
      }
      if (result.done) return { status: 'done', bytes: concat(chunks, size) };
      chunks.push(result.value);
      size += result.value.byteLength;
    }
    return { status: 'over', chunks, rest: reader };
  } catch (error) {
    return { status: 'failed', error: errorMessage(error) };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

export interface StreamWatch {
  /** The client's body ended: all of it is on its way. */
  onEnd(): void;
  /** The client's side failed. */
  onClientFailure(error: unknown): void;
}

/**
 * The chunks already read, then the read under way (if any), then the rest of the reader. When the
 * client's side fails, `onClientFailure` runs and the stream neither ends nor errors: the caller
 * aborts the request instead, so the origin never sees a truncated body as a complete one.
 */
export function guardedStream(
  head: Uint8Array[],
  rest: ReadableStreamDefaultReader<Uint8Array>,
  pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined,
  { onEnd, onClientFailure }: StreamWatch,
): ReadableStream<Uint8Array> {
  const chunks = [...head];
  let inFlight = pending;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = chunks.shift();
      if (chunk) return controller.enqueue(chunk);
      const read = inFlight ?? rest.read();
      inFlight = undefined;
      try {
        const { done, value } = await read;
        if (done) {
          controller.close();
          onEnd();
        } else controller.enqueue(value);
      } catch (error) {
        onClientFailure(error);
        await new Promise<never>(() => {}); // settled by the abort, which cancels this stream
      }
    },
    cancel(reason) {
      return rest.cancel(reason);
    },
  });
}
