/**
 * Runs the redirect app on `listen.http`. close() is graceful and bounded (net/graceful-http.ts):
 * the listener stops accepting, requests in flight and requests that arrive on open connections
 * are answered with Connection: close, idle keep-alive connections are closed after the grace, and
 * everything left is destroyed at the bound.
 */
import type { FastifyInstance } from 'fastify'
import type { ListenAddress } from '../config/model.js'
import { hostPort, type BoundAddress } from '../net/address.js'
import { closeGracefully, trackConnections, type GracefulOptions } from '../net/graceful-http.js'
import type { Logger } from '../log.js'
import { buildRedirectApp, type RedirectDeps } from './app.js'

export class RedirectServer {
  readonly app: FastifyInstance
  readonly #listen: ListenAddress
  readonly #log: Logger

  constructor (deps: RedirectDeps, listen: ListenAddress, log: Logger) {
    this.app = buildRedirectApp(deps)
    trackConnections(this.app.server)
    this.#listen = listen
    this.#log = log
  }

  async start (): Promise<BoundAddress> {
    await this.app.listen({ host: this.#listen.host, port: this.#listen.port })
    this.app.server.maxConnections = 10_000
    const a = this.app.server.address() as { address: string, port: number }
    this.#log.info({ listener: `http://${hostPort(a.address, a.port)}` }, 'redirects listening')
    return { proto: 'tcp', host: a.address, port: a.port }
  }

  async close (opts: GracefulOptions): Promise<void> {
    await closeGracefully(this.app.server, opts)
    await this.app.close()
  }
}
