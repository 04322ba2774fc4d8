/**
 * Origins that the end-to-end tests stop like a crash: the listener closes and every open connection
 * is dropped at once, WebSocket and event streams included, rather than waiting for them to end.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

const openConnections = new WeakMap<Server, Set<Socket>>();

/** Follows every connection `server` accepts, until it closes, so that `crash` can drop it. */
export function trackConnections(server: Server): void {
  const sockets = new Set<Socket>();
  openConnections.set(server, sockets);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
}

/** Closes `server`'s listener and drops its open connections; resolves once the server has closed. */
export function crash(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const socket of openConnections.get(server) ?? []) socket.destroy();
  return closed;
}
