/**
 * The connections of one gslb node to the cluster's Redis (ioredis): one for commands, one
 * subscribed to the cluster's channel. Commands fail at once while Redis is unreachable (no
 * offline queue) and time out after COMMAND_TIMEOUT_MS, so nothing ever waits long on Redis; the
 * clients reconnect by themselves. `up` says whether commands can go through now; listeners hear
 * each loss and each return (the stores catch up then). Never used on the query path.
 */
import { readFileSync } from 'node:fs'
import { Redis } from 'ioredis'
import type { ClusterOptions } from '../config/model.js'
import { ErrorCode, GslbError } from '../errors.js'
import type { Logger } from '../log.js'

/** The environment variable that holds the Redis password (it wins over cluster.password_file). */
export const REDIS_PASSWORD_ENV = 'GSLB_REDIS_PASSWORD'
export const COMMAND_TIMEOUT_MS = 2000
const CONNECT_TIMEOUT_MS = 2000

export type LinkEvent = 'up' | 'down'

export class RedisLink {
  /** Commands (health, heartbeats). */
  readonly cmd: Redis
  /** The admin store's transactions (WATCH is per connection: nothing else may run between WATCH and EXEC). */
  readonly tx: Redis
  readonly sub: Redis
  readonly channel: string
  readonly prefix: string
  /** The URL without its password, for logs and the API. */
  readonly where: string
  #up = false
  #downSince: number | undefined = Date.now()
  readonly #listeners: Array<(e: LinkEvent) => void> = []
  readonly #messages: Array<(m: Record<string, unknown>) => void> = []
  readonly #log: Logger
  #closed = false

  constructor (opts: ClusterOptions, log: Logger, env: NodeJS.ProcessEnv = process.env) {
    this.#log = log
    this.prefix = opts.prefix
    this.channel = `${opts.prefix}events`
    const url = new URL(opts.redisUrl)
    const password = env[REDIS_PASSWORD_ENV] ?? (opts.passwordFile === undefined ? undefined : readSecret(opts.passwordFile))
    if (password !== undefined && password !== '') url.password = encodeURIComponent(password)
    const shown = new URL(opts.redisUrl)
    if (shown.password !== '') shown.password = '***'
    this.where = shown.toString()
    const base = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Reconnect for ever, at most every 2 s.
      retryStrategy: (times: number) => Math.min(100 * times, 2000),
      ...(url.protocol === 'rediss:' ? { tls: opts.tlsCa === undefined ? {} : { ca: readSecret(opts.tlsCa) } } : {}),
    }
    this.cmd = new Redis(url.toString(), { ...base, commandTimeout: COMMAND_TIMEOUT_MS })
    this.tx = new Redis(url.toString(), { ...base, commandTimeout: COMMAND_TIMEOUT_MS })
    this.sub = new Redis(url.toString(), base)
    for (const client of [this.cmd, this.tx, this.sub]) client.on('error', () => { /* the 'close' / 'ready' events say what matters */ })
    this.cmd.on('ready', () => this.#set(true))
    this.cmd.on('close', () => this.#set(false))
    this.sub.on('ready', () => { void this.sub.subscribe(this.channel).catch(() => {}) })
    this.sub.on('message', (_channel: string, text: string) => {
      let m: unknown
      try { m = JSON.parse(text) } catch { return }
      if (typeof m === 'object' && m !== null) for (const fn of this.#messages) fn(m as Record<string, unknown>)
    })
  }

  get up (): boolean { return this.#up }
  /** Since when Redis has been unreachable (epoch ms), or undefined while it is reachable. */
  get downSince (): number | undefined { return this.#downSince }

  /** Connect; resolves whether or not Redis answered (the clients keep trying in the background). */
  async connect (): Promise<boolean> {
    await Promise.all([this.cmd, this.tx, this.sub].map(async c => await c.connect().catch(() => {})))
    return this.#up
  }

  onEvent (fn: (e: LinkEvent) => void): void { this.#listeners.push(fn) }
  onMessage (fn: (m: Record<string, unknown>) => void): void { this.#messages.push(fn) }

  /** The error a change gets while Redis cannot take it. */
  unavailable (): GslbError {
    return new GslbError(ErrorCode.STATE_UNAVAILABLE, `the shared state (Redis at ${this.where}) is unreachable; the change was not applied`)
  }

  close (): void {
    this.#closed = true
    for (const c of [this.cmd, this.tx, this.sub]) c.disconnect()
  }

  #set (up: boolean): void {
    if (up === this.#up || this.#closed) return
    this.#up = up
    if (up) {
      this.#log.info({ redis: this.where, downMs: this.#downSince === undefined ? 0 : Date.now() - this.#downSince }, 'cluster: Redis reachable; catching up')
      this.#downSince = undefined
    } else {
      this.#downSince = Date.now()
      this.#log.warn({ redis: this.where }, 'cluster: Redis unreachable; serving with the last shared state and this node\'s own checks')
    }
    for (const fn of this.#listeners) fn(up ? 'up' : 'down')
  }
}

function readSecret (path: string): string {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch (err) {
    throw new GslbError(ErrorCode.STATE_UNAVAILABLE, `cannot read ${path}: ${(err as Error).message}`)
  }
}
