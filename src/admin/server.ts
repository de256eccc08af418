/** Runs the admin API (admin/app.ts) on `listen.admin`, with the same bounded graceful close as the redirect service. */
import type { FastifyInstance } from 'fastify'
import type { ListenAddress } from '../config/model.js'
import type { GslbCore } from '../core/core.js'
import type { Logger } from '../log.js'
import { hostPort, type BoundAddress } from '../net/address.js'
import { closeGracefully, trackConnections, type GracefulOptions } from '../net/graceful-http.js'
import { ADMIN_LIMITS, buildAdminApp, type AdminHooks } from './app.js'

export type { AdminHooks, ReloadReport } from './app.js'

export class AdminServer {
  readonly #app: FastifyInstance
  readonly #listen: ListenAddress
  readonly #log: Logger

  constructor (core: GslbCore, listen: ListenAddress, log: Logger, hooks: AdminHooks = {}) {
    this.#app = buildAdminApp(core, { listenHost: listen.host, ...hooks })
    this.#app.server.maxConnections = ADMIN_LIMITS.connections
    trackConnections(this.#app.server)
    this.#listen = listen
    this.#log = log
  }

  async start (): Promise<BoundAddress> {
    await this.#app.listen({ host: this.#listen.host, port: this.#listen.port })
    const a = this.#app.server.address() as { address: string, port: number }
    this.#log.info({ listener: `http://${hostPort(a.address, a.port)}` }, 'admin API listening')
    return { proto: 'tcp', host: a.address, port: a.port }
  }

  async close (opts: GracefulOptions): Promise<void> {
    await closeGracefully(this.#app.server, opts)
    await this.#app.close()
  }
}
