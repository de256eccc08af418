/**
 * Slow readers. A client can send requests and never read the answers: the responses fill the
 * kernel's buffers, then Node's, and Node stops reading that connection, which then holds its
 * socket and buffers for ever. Node's own guard is the socket inactivity timeout
 * (`server.timeout`, fastify's `connectionTimeout`), but it is re-armed twice per request (a timer
 * insert and a closure each time, about 4% of a redirect's cost in bench/http). This guard has no
 * per-request cost: it looks at every open connection once per sweep, and closes one whose
 * unsent response data has not drained for `stallMs`. A connection idle in any other state is
 * already bounded by Node: headersTimeout (nothing or part of the headers sent), requestTimeout
 * (a body trickling in) and keepAliveTimeout (idle between requests).
 */
import type { Server } from 'node:http'
import type { Socket } from 'node:net'

/**
 * Watch `server`'s connections from the time it listens until it closes. A connection is closed
 * between `stallMs` and `stallMs + everyMs` after response data started waiting in its buffer
 * without draining to zero. `onCut` is called for each one closed.
 */
export function guardWriteStalls (server: Server, stallMs: number, everyMs: number, onCut?: (socket: Socket) => void): void {
  /** Each open connection → when its unsent data started waiting (0: nothing waiting). */
  const waiting = new Map<Socket, number>()
  server.on('connection', (socket: Socket) => {
    waiting.set(socket, 0)
    socket.once('close', () => waiting.delete(socket))
  })
  let timer: NodeJS.Timeout | undefined
  server.on('listening', () => {
    timer ??= setInterval(() => {
      const now = Date.now()
      for (const [socket, since] of waiting) {
        if (socket.writableLength === 0) {
          if (since !== 0) waiting.set(socket, 0)
        } else if (since === 0) {
          waiting.set(socket, now)
        } else if (now - since >= stallMs) {
          waiting.delete(socket)
          onCut?.(socket)
          socket.destroy()
        }
      }
    }, everyMs).unref()
  })
  server.on('close', () => {
    clearInterval(timer)
    timer = undefined
  })
}
