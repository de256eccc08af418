/**
 * A bounded, graceful stop for a Node HTTP server (the redirect service and the admin API).
 *
 * Node's own `server.close()` is not enough: it closes idle keep-alive connections at once, so a
 * client that sends its next request at that moment gets a reset, and it stops the timer that
 * enforces headersTimeout/requestTimeout, so a client holding a partly sent request keeps the
 * process alive for ever. Here:
 *
 * 1. the listener stops accepting (net.Server's close, which keeps the request timeouts running);
 * 2. every response from now on says `Connection: close` and ends its connection, so a busy
 *    keep-alive client gets its answer and then reconnects elsewhere;
 * 3. after `graceMs`, connections idle between requests are closed (a client that sent nothing
 *    for that long may see its idle connection close, as at any keep-alive timeout);
 * 4. after `timeoutMs`, whatever is still open is destroyed.
 *
 * Resolves when the last connection has closed: at the latest just after `timeoutMs`.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { Server as NetServer } from 'node:net'

export interface GracefulOptions {
  readonly graceMs: number
  readonly timeoutMs: number
}

export function closeGracefully (server: Server, opts: GracefulOptions): Promise<void> {
  if (!server.listening) return Promise.resolve()
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => { res.shouldKeepAlive = false })
  return new Promise(resolve => {
    const idle = setTimeout(() => server.closeIdleConnections(), opts.graceMs)
    const hard = setTimeout(() => server.closeAllConnections(), opts.timeoutMs)
    NetServer.prototype.close.call(server, () => {
      clearTimeout(idle)
      clearTimeout(hard)
      // Now stop what http.Server.close() would have stopped (the request-timeout check).
      server.close(() => resolve())
    })
  })
}
