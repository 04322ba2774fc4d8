/**
 * A load generator that spends little CPU per request, so that on a machine where it shares two cores
 * with workerd and the origin it does not become the thing measured: keep-alive HTTP/1.1 over raw
 * sockets, one request in flight per connection, each request's bytes built once, and a response
 * parser that only finds the status and where the body ends. Latency is taken per response with the
 * monotonic clock, so percentiles are exact rather than bucketed.
 */
import { connect, type Socket } from 'node:net';

export interface LoadPlan {
  url: string;
  connections: number;
  durationMs: number;
  /** One `Cookie` header per connection (steady state), or none (every request a new session). */
  cookies?: string[];
}

export interface LoadOutcome {
  /** Responses with a 2xx status. */
  ok: number;
  /** Other statuses, broken connections and unparsable answers. */
  failed: number;
  /** Milliseconds from writing a request to reading its last byte, for every 2xx response. */
  latencies: number[];
  /** CPU this generator used (user + system), in milliseconds. */
  cpuMs: number;
  durationMs: number;
}

export async function generateLoad(plan: LoadPlan): Promise<LoadOutcome> {
  const target = new URL(plan.url);
  const outcome: LoadOutcome = { ok: 0, failed: 0, latencies: [], cpuMs: 0, durationMs: plan.durationMs };
  const cpuBefore = process.cpuUsage();
  const deadline = performance.now() + plan.durationMs;
  await Promise.all(
    Array.from({ length: plan.connections }, (_, i) => {
      const cookie = plan.cookies?.[i % plan.cookies.length];
      return runConnection(target, requestBytes(target, cookie), deadline, outcome);
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  outcome.cpuMs = (cpu.user + cpu.system) / 1000;
  return outcome;
}

function requestBytes(target: URL, cookie: string | undefined): Buffer {
  const lines = [`GET ${target.pathname}${target.search} HTTP/1.1`, `Host: ${target.host}`];
  if (cookie) lines.push(`Cookie: ${cookie}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** Sends requests one after another on one keep-alive connection until the deadline. */
function runConnection(target: URL, request: Buffer, deadline: number, outcome: LoadOutcome): Promise<void> {
  return new Promise((done) => {
    const socket: Socket = connect(Number(target.port), target.hostname);
    socket.setNoDelay(true);
    const parser = new ResponseParser();
    let sentAt = 0;
    const send = () => {
      if (performance.now() >= deadline) return void socket.end();
      sentAt = performance.now();
      socket.write(request);
    };
    socket.on('connect', send);
    socket.on('data', (chunk: Buffer) => {
      for (const status of parser.feed(chunk)) {
        if (status >= 200 && status < 300) {
          outcome.ok++;
          outcome.latencies.push(performance.now() - sentAt);
        } else {
          outcome.failed++;
        }
        send();
      }
    });
    socket.on('error', () => outcome.failed++);
    socket.on('close', () => done());
  });
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');

/**
 * Finds complete responses in a byte stream: status from the status line, body by `Content-Length`
 * or by chunked framing (RFC 9112 §6, §7.1). Yields each complete response's status.
 */
class ResponseParser {
  #buffer: Buffer = Buffer.alloc(0);

  *feed(chunk: Buffer): Generator<number> {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const headEnd = this.#buffer.indexOf(CRLF_CRLF);
      if (headEnd < 0) return;
      const head = this.#buffer.toString('latin1', 0, headEnd);
      const status = Number(head.slice(9, 12));
      const bodyStart = headEnd + 4;
      const end = bodyEnd(head, this.#buffer, bodyStart);
      if (end < 0) return;
      this.#buffer = this.#buffer.subarray(end);
      yield status;
    }
  }
}

/** Where the body ends, or -1 when it has not fully arrived. */
function bodyEnd(head: string, buffer: Buffer, start: number): number {
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length) {
    const end = start + Number(length[1]);
    return buffer.length >= end ? end : -1;
  }
  if (!/\r\ntransfer-encoding:\s*chunked/i.test(head)) return start;
  let at = start;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at, 'latin1');
    if (lineEnd < 0) return -1;
    const size = parseInt(buffer.toString('latin1', at, lineEnd), 16);
    if (size === 0) {
      const trailerEnd = buffer.indexOf('\r\n', lineEnd + 2, 'latin1');
      return trailerEnd < 0 ? -1 : trailerEnd + 2;
    }
    at = lineEnd + 2 + size + 2;
    if (at > buffer.length) return -1;
  }
}
