import type { WebSocket, WebSocketServer } from 'ws';

export interface KeepAliveOptions {
  /** Ping every socket this often; one that has not answered the previous ping is terminated. */
  pingMs: number;
  /** A socket with more than this many bytes waiting to be sent is handed to onSlow. */
  maxBufferedBytes: number;
  onSlow(socket: WebSocket): void;
}

export interface KeepAlive {
  stop(): void;
}

/**
 * WebSocket heartbeat: a peer that does not answer a ping within one interval is gone; terminating it ends its
 * subscriptions so nothing more is buffered for it. Each beat also checks every socket's send buffer (slow when it is
 * over the limit at two beats in a row).
 */
export function startKeepAlive(wsServer: WebSocketServer, opts: KeepAliveOptions): KeepAlive {
  const alive = new WeakMap<WebSocket, boolean>();
  /** Sockets that were over maxBufferedBytes at the previous beat. */
  const over = new WeakSet<WebSocket>();
  const onConnection = (socket: WebSocket) => {
    alive.set(socket, true);
    socket.on('pong', () => alive.set(socket, true));
  };
  wsServer.on('connection', onConnection);
  const timer = setInterval(() => {
    for (const socket of wsServer.clients) {
      // graphql-ws waits for each message to be written before sending the next, so a socket's own buffer stays
      // small and a slow reader shows up as an overflowing event queue (closed with 4008 by the pub/sub); this
      // catches whatever else piles up. Only a socket over the limit at two beats in a row is slow: one large
      // message (a big telemetry batch) may be on its way to a healthy reader at the moment of one beat.
      if (socket.bufferedAmount > opts.maxBufferedBytes) {
        if (over.has(socket)) opts.onSlow(socket);
        else over.add(socket);
      } else over.delete(socket);
      if (alive.get(socket) === false) {
        socket.terminate();
        continue;
      }
      alive.set(socket, false);
      socket.ping();
    }
  }, opts.pingMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      wsServer.off('connection', onConnection);
    },
  };
}
