/**
 * Runs the redirect app on `listen.http`. close() is graceful: the listener stops accepting,
 * requests in flight finish, new requests on open connections get 503 with Connection: close
 * (fastify return503OnClosing), and idle keep-alive connections are closed.
 */
import type { FastifyInstance } from 'fastify'
import type { ListenAddress } from '../config/model.js'
import type { BoundAddress } from '../dns/server.js'
import type { Logger } from '../log.js'
import { buildRedirectApp, type RedirectDeps } from './app.js'

export class RedirectServer {
  readonly app: FastifyInstance
  readonly #listen: ListenAddress
  readonly #log: Logger

  constructor (deps: RedirectDeps, listen: ListenAddress, log: Logger) {
    this.app = buildRedirectApp(deps)
    this.#listen = listen
    this.#log = log
  }

  async start (): Promise<BoundAddress> {
    await this.app.listen({ host: this.#listen.host, port: this.#listen.port })
    this.app.server.maxConnections = 10_000
    const a = this.app.server.address() as { address: string, port: number }
    this.#log.info({ listener: `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` }, 'redirects listening')
    return { proto: 'tcp', host: a.address, port: a.port }
  }

  async close (): Promise<void> {
    this.app.server.closeIdleConnections()
    await this.app.close()
  }
}
