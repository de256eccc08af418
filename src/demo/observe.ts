/**
 * Asking as a client would, for scenarios and the demo: a DNS query over UDP with the client's
 * subnet as ECS, and a redirect request with the client's address in X-Forwarded-For (the demo
 * trusts loopback proxies). Each answer is mapped back to the sites of the members it names.
 */
import { createSocket } from 'node:dgram'
import { request } from 'node:http'
import type { GslbConfig } from '../config/model.js'
import { TYPE } from '../dns/constants.js'
import { decodeMessage } from '../dns/decode.js'
import { encodeQuery } from '../dns/encode-query.js'
import type { Cidr } from '../net/cidr.js'

export interface Observation {
  /** The sites of the members answered; empty for no answer. */
  readonly sites: readonly string[]
  /** What was answered, for a person: addresses, a Location, or a status. */
  readonly detail: string
  /** Nothing was answered at all (a timeout, a refused connection): never what any expectation wants. */
  readonly failed?: boolean
}

/** Members' addresses and URLs → their sites. */
export class SiteIndex {
  readonly #byAddress = new Map<string, string>()
  readonly #byUrl: Array<[string, string]> = []

  constructor (config: GslbConfig) {
    for (const pool of config.pools) {
      for (const m of pool.members) {
        if (m.site === undefined) continue
        if (m.address !== undefined) this.#byAddress.set(m.address, m.site)
        if (m.url !== undefined) this.#byUrl.push([m.url, m.site])
      }
    }
  }

  ofAddress (address: string): string { return this.#byAddress.get(address) ?? '?' }
  ofUrl (url: string): string { return this.#byUrl.find(([base]) => url.startsWith(base))?.[1] ?? '?' }
}

/** The first address of a subnet: the client a redirect request stands for. */
export function firstAddress (subnet: Cidr): string {
  const b = Buffer.from(subnet.bytes)
  b[b.length - 1] = (b[b.length - 1] ?? 0) | 1
  if (subnet.family === 4) return [...b].join('.')
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16))
  return groups.join(':')
}

export async function askDns (host: string, port: number, name: string, subnet: Cidr, sites: SiteIndex, timeoutMs = 1000): Promise<Observation> {
  const query = encodeQuery({ name, type: TYPE.A, ecs: { family: subnet.family === 4 ? 1 : 2, source: subnet.bits, address: subnet.bytes } }, Math.floor(Math.random() * 0xffff))
  const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4')
  try {
    const reply = await new Promise<Buffer | undefined>(resolve => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs)
      sock.once('error', () => { clearTimeout(timer); resolve(undefined) })
      sock.once('message', msg => { clearTimeout(timer); resolve(msg) })
      sock.send(query, port, host)
    })
    if (reply === undefined) return { sites: [], detail: `no DNS answer within ${timeoutMs} ms`, failed: true }
    const m = decodeMessage(reply)
    const addresses = m.answer.filter(r => r.type === TYPE.A).map(r => r.data)
    if (addresses.length === 0) return { sites: [], detail: `DNS rcode ${m.rcode}, no A records` }
    const found = addresses.map(a => sites.ofAddress(a))
    return { sites: [...new Set(found)], detail: `DNS ${addresses.map((a, i) => `${a} (${found[i] ?? '?'})`).join(', ')}` }
  } finally {
    sock.close()
  }
}

export async function askRedirect (host: string, port: number, url: string, client: string, sites: SiteIndex, timeoutMs = 2000): Promise<Observation> {
  const u = new URL(url)
  return await new Promise<Observation>(resolve => {
    const req = request({ host, port, path: `${u.pathname}${u.search}`, headers: { host: u.host, 'x-forwarded-for': client, connection: 'close' }, timeout: timeoutMs }, res => {
      res.resume()
      const location = res.headers.location
      if (res.statusCode !== undefined && res.statusCode >= 300 && res.statusCode < 400 && location !== undefined) {
        const site = sites.ofUrl(location)
        resolve({ sites: [site], detail: `redirect ${res.statusCode} to ${location} (${site})` })
      } else {
        resolve({ sites: [], detail: `redirect answered ${String(res.statusCode)}` })
      }
    })
    req.on('timeout', () => { req.destroy(); resolve({ sites: [], detail: `no redirect answer within ${timeoutMs} ms`, failed: true }) })
    req.on('error', err => resolve({ sites: [], detail: `redirect request failed: ${err.message}`, failed: true }))
    req.end()
  })
}
