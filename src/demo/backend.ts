/**
 * A simulated backend for `gslb demo`: a small HTTP server on a member's address that answers
 * health checks and serves a page naming its site and itself, and that takes faults: down (the
 * listener closes: connections are refused), slow (every answer waits), error (every answer is a
 * 500), flap (down and up in turn), up (normal again). docs/demo.md.
 */
import { EventEmitter } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { hostPort } from '../net/address.js'

export type FaultKind = 'up' | 'down' | 'slow' | 'error' | 'flap'
export const FAULT_KINDS: readonly FaultKind[] = ['up', 'down', 'slow', 'error', 'flap']

export interface Fault {
  readonly kind: FaultKind
  /** slow: how long each answer waits. @default 1500 ms (longer than the demo's check timeout) */
  readonly delayMs?: number
  /** flap: how long each down and each up phase lasts. @default 3000 ms */
  readonly periodMs?: number
}

export const DEFAULT_DELAY_MS = 1500
export const DEFAULT_PERIOD_MS = 3000

export interface BackendSpec {
  readonly name: string
  readonly site: string
  readonly address: string
  readonly port: number
  readonly healthPath: string
}

/** Emits 'listening' and 'closed' as faults open and close its listener. */
export class DemoBackend extends EventEmitter {
  readonly spec: BackendSpec
  #fault: Fault = { kind: 'up' }
  #server: Server | undefined
  readonly #sockets = new Set<Socket>()
  #flapTimer: NodeJS.Timeout | undefined
  /** Pages served (not health checks). */
  served = 0
  /** Why the last flap phase could not listen, if it could not. */
  lastError: string | undefined
  #closed = false

  constructor (spec: BackendSpec) {
    super()
    this.spec = spec
  }

  get fault (): Fault { return this.#fault }
  get listening (): boolean { return this.#server !== undefined }
  get url (): string { return `http://${hostPort(this.spec.address, this.spec.port)}/` }

  async start (): Promise<void> { await this.#listen() }

  /** Apply a fault (replacing the one in force); resolves once the listener is in the state it needs. */
  async set (fault: Fault): Promise<void> {
    clearInterval(this.#flapTimer)
    this.#flapTimer = undefined
    this.#fault = fault
    if (fault.kind === 'down') {
      await this.#unlisten()
    } else if (fault.kind === 'flap') {
      await this.#unlisten()
      let up = false
      this.#flapTimer = setInterval(() => {
        up = !up
        // A phase that cannot listen (the address taken meanwhile) stays down; it is said in `lastError`.
        void (up ? this.#listen() : this.#unlisten()).catch((err: Error) => { this.lastError = err.message })
      }, fault.periodMs ?? DEFAULT_PERIOD_MS)
    } else {
      await this.#listen()
    }
  }

  async close (): Promise<void> {
    this.#closed = true
    clearInterval(this.#flapTimer)
    await this.#unlisten()
  }

  #handle (req: IncomingMessage, res: ServerResponse): void {
    const health = (req.url ?? '/').split('?')[0] === this.spec.healthPath
    if (!health) this.served++
    const answer = (): void => {
      if (res.destroyed) return
      if (this.#fault.kind === 'error') {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${this.spec.name}: injected error\n`)
        return
      }
      const body = health
        ? 'ok\n'
        : `${this.spec.name} at site ${this.spec.site} (${hostPort(this.spec.address, this.spec.port)}): ${req.method ?? 'GET'} ${req.url ?? '/'}\n`
      res.writeHead(200, { 'content-type': 'text/plain', 'x-demo-site': this.spec.site, 'x-demo-backend': this.spec.name }).end(body)
    }
    if (this.#fault.kind === 'slow') setTimeout(answer, this.#fault.delayMs ?? DEFAULT_DELAY_MS).unref()
    else answer()
  }

  async #listen (): Promise<void> {
    if (this.#server !== undefined || this.#closed) return
    const server = createServer((req, res) => this.#handle(req, res))
    server.on('connection', s => { this.#sockets.add(s); s.once('close', () => this.#sockets.delete(s)) })
    this.#server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.spec.port, this.spec.address, () => { server.off('error', reject); resolve() })
    }).catch(err => { this.#server = undefined; throw err })
    this.emit('listening')
  }

  /** Stop listening and cut open connections: to a client the backend is gone. */
  async #unlisten (): Promise<void> {
    const server = this.#server
    if (server === undefined) return
    this.#server = undefined
    const closed = new Promise<void>(resolve => server.close(() => resolve()))
    for (const s of this.#sockets) s.destroy()
    await closed
    this.emit('closed')
  }
}
