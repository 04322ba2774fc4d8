/**
 * A client that writes HTTP/1.1 bytes by hand, for what no well-behaved client library sends: a GET
 * with `Content-Length: 0`, a HEAD with an empty chunked body, an upload abandoned half way, a body
 * that stalls.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  /** 0 when the connection closed without an answer. */
  status: number;
  head: string;
  body: string;
}

export interface RawExchange {
  /** The answer, once the worker has given it (or closed the connection). */
  answer: Promise<RawAnswer>;
  /** Writes more bytes of the request. */
  write(bytes: string | Uint8Array): void;
  /** Drops the connection, as a client that leaves does. */
  abandon(): void;
}

/** Opens a connection to `base` and writes `head` (request line and headers, without the blank line). */
export function rawRequest(base: string, head: string, body: string | Uint8Array = ''): RawExchange {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  socket.write(`${head}\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`);
  if (body.length > 0) socket.write(body);
  const chunks: Buffer[] = [];
  const answer = new Promise<RawAnswer>((resolve) => {
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve(parse(Buffer.concat(chunks).toString('latin1'))));
  });
  return { answer, write: (bytes) => void socket.write(bytes), abandon: () => socket.destroy() };
}

function parse(text: string): RawAnswer {
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) return { status: 0, head: text, body: '' };
  const head = text.slice(0, split);
  const raw = text.slice(split + 4);
  const body = /^transfer-encoding:\s*chunked/im.test(head) ? dechunk(raw) : raw;
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body };
}

/** RFC 9112 §7.1: size in hex, CRLF, data, CRLF, …, a zero size. */
function dechunk(raw: string): string {
  let body = '';
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    const size = parseInt(raw.slice(at, lineEnd), 16);
    if (!(size > 0)) return body;
    body += raw.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}
