/**
 * A bounded, graceful stop for a Node HTTP server (the redirect service and the admin API).
 *
 * Node's own `server.close()` is not enough: it closes idle keep-alive connections at once, so a
 * client that sends its next request at that moment gets a reset, and it stops the timer that
 * enforces headersTimeout/requestTimeout, so a client holding a partly sent request keeps the
 * process alive for ever. Here:
 *
 * 1. the listener stops accepting (net.Server's close, which keeps the request timeouts running);
 * 2. every response from now on, and every response still being prepared, says
 *    `Connection: close` and ends its connection, so a busy keep-alive client gets its answer and
 *    then reconnects elsewhere;
 * 3. after `graceMs`, connections idle between requests are closed, and again every 100 ms (a
 *    client that sent nothing for the whole grace may see its idle connection close, as at any
 *    keep-alive timeout);
 * 4. after `timeoutMs`, whatever is still open is destroyed.
 *
 * Resolves when the last connection has closed: at the latest just after `timeoutMs`.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { Server as NetServer, type Socket } from 'node:net'

export interface GracefulOptions {
  readonly graceMs: number
  readonly timeoutMs: number
}

/** How often idle connections are closed once the grace is over. */
const SWEEP_MS = 100

/** Track `server`'s connections from the start, so a stop can reach the responses in flight. */
export function trackConnections (server: Server): void {
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  tracked.set(server, sockets)
}

const tracked = new WeakMap<Server, Set<Socket>>()

export function closeGracefully (server: Server, opts: GracefulOptions): Promise<void> {
  if (!server.listening) return Promise.resolve()
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => { res.shouldKeepAlive = false })
  for (const socket of tracked.get(server) ?? []) {
    // The response being prepared on this connection (Node keeps it on the socket); not sent yet,
    // so it can still say Connection: close.
    const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
    if (res != null && !res.headersSent) res.shouldKeepAlive = false
  }
  return new Promise(resolve => {
    let sweep: NodeJS.Timeout | undefined
    const idle = setTimeout(() => {
      server.closeIdleConnections()
      sweep = setInterval(() => server.closeIdleConnections(), SWEEP_MS)
    }, opts.graceMs)
    const hard = setTimeout(() => server.closeAllConnections(), opts.timeoutMs)
    NetServer.prototype.close.call(server, () => {
      clearTimeout(idle)
      clearInterval(sweep)
      clearTimeout(hard)
      // Now stop what http.Server.close() would have stopped (the request-timeout check). The
      // server is already closed, so this close() reports ERR_SERVER_NOT_RUNNING: expected.
      server.close(() => resolve())
    })
  })
}
