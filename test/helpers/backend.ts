/**
 * A fake HTTP backend for health tests, switchable between behaviours: ok, HTTP 500, hang,
 * connection refused (listener closed), reset, slow (answers after a delay) and flapping
 * (alternates ok and 500). It records when each request arrived and what it answered.
 */
import { createServer, type Server } from 'node:http'
import type { Socket } from 'node:net'

export type Mode = 'ok' | '500' | 'hang' | 'refused' | 'reset' | 'slow' | 'flap'

export class FakeBackend {
  mode: Mode = 'ok'
  slowMs = 0
  body = 'ok'
  readonly log: Array<{ at: number, ok: boolean }> = []
  #server: Server | undefined
  #sockets = new Set<Socket>()
  #flip = false
  port = 0

  async start (port = 0): Promise<this> {
    const server = createServer((req, res) => {
      const mode = this.mode
      if (mode === 'reset') { this.log.push({ at: Date.now(), ok: false }); req.socket.destroy(); return }
      if (mode === 'hang') { this.log.push({ at: Date.now(), ok: false }); return }
      const ok = mode === 'flap' ? (this.#flip = !this.#flip) : mode !== '500'
      const send = (): void => { this.log.push({ at: Date.now(), ok }); res.writeHead(ok ? 200 : 500).end(ok ? this.body : 'error') }
      if (mode === 'slow') setTimeout(send, this.slowMs)
      else send()
    })
    server.on('connection', s => { this.#sockets.add(s); s.on('close', () => this.#sockets.delete(s)) })
    await new Promise<void>(resolve => server.listen({ host: '127.0.0.1', port }, resolve))
    this.port = (server.address() as { port: number }).port
    this.#server = server
    return this
  }

  /** Switch behaviour; 'refused' closes the listener, leaving it re-opens on the same port. */
  async set (mode: Mode): Promise<void> {
    if (mode === 'refused' && this.#server !== undefined) await this.stop()
    if (mode !== 'refused' && this.#server === undefined) await this.start(this.port)
    this.mode = mode
  }

  async stop (): Promise<void> {
    const s = this.#server
    this.#server = undefined
    if (s === undefined) return
    for (const sock of this.#sockets) sock.destroy()
    await new Promise<void>(resolve => s.close(() => resolve()))
  }
}
