/**
 * Simulated users for `gslb demo`, so the dashboard's shares have something to show: a client near
 * each site sends DNS queries (its /24 as ECS) and redirect requests (its address in
 * X-Forwarded-For) at a steady, bounded rate. Answers are read and dropped.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { Agent, request } from 'node:http'
import { TYPE } from '../dns/constants.js'
import { encodeQuery } from '../dns/encode-query.js'
import type { Cidr } from '../net/cidr.js'
import { firstAddress } from './observe.js'

export interface TrafficOptions {
  readonly dns: { readonly host: string, readonly port: number } | undefined
  readonly http: { readonly host: string, readonly port: number } | undefined
  /** The DNS name asked and the redirect URL requested. */
  readonly name: string | undefined
  readonly url: string | undefined
  readonly clients: readonly Cidr[]
  /** DNS queries a second per client; a quarter as many redirects. */
  readonly perSecond: number
}

const TICK_MS = 100

export class DemoTraffic {
  readonly #opts: TrafficOptions
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 4 })
  #udp: UdpSocket | undefined
  #timer: NodeJS.Timeout | undefined
  #tick = 0

  constructor (opts: TrafficOptions) { this.#opts = opts }

  start (): void {
    const { dns, name, clients, perSecond } = this.#opts
    if (perSecond <= 0 || clients.length === 0) return
    if (dns !== undefined && name !== undefined) {
      this.#udp = createSocket(dns.host.includes(':') ? 'udp6' : 'udp4')
      this.#udp.on('message', () => {})
      this.#udp.on('error', () => {})
    }
    const queries = clients.map(subnet => encodeQuery({ name: name ?? '.', type: TYPE.A, ecs: { family: subnet.family === 4 ? 1 : 2, source: subnet.bits, address: subnet.bytes } }))
    const perTick = perSecond * TICK_MS / 1000
    let owed = 0
    this.#timer = setInterval(() => {
      this.#tick++
      owed += perTick
      const n = Math.floor(owed)
      owed -= n
      for (let i = 0; i < n; i++) {
        for (const q of queries) if (dns !== undefined) this.#udp?.send(q, dns.port, dns.host)
      }
      // A quarter as many redirects: one per client every fourth query.
      if (this.#tick % 4 === 0) for (let i = 0; i < n; i++) for (const subnet of clients) this.#redirect(firstAddress(subnet))
    }, TICK_MS)
  }

  #redirect (client: string): void {
    const { http, url } = this.#opts
    if (http === undefined || url === undefined) return
    const u = new URL(url)
    const req = request({ host: http.host, port: http.port, path: u.pathname, agent: this.#agent, headers: { host: u.host, 'x-forwarded-for': client } }, res => { res.resume() })
    req.on('error', () => {})
    req.end()
  }

  close (): void {
    clearInterval(this.#timer)
    this.#udp?.close()
    this.#udp = undefined
    this.#agent.destroy()
  }
}
