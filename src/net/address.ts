/** Listening addresses, shared by every front end (DNS, redirects, admin API) and the CLI. */
import { isIPv4, isIPv6 } from 'node:net'

/** A socket a front end has bound. */
export interface BoundAddress { readonly proto: 'udp' | 'tcp', readonly host: string, readonly port: number }

/** An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, any case) as its IPv4 address; anything else as it is. */
export function unmapIPv4 (address: string): string {
  return address.length > 7 && address.slice(0, 7).toLowerCase() === '::ffff:' && isIPv4(address.slice(7)) ? address.slice(7) : address
}

/** `host:port`, with an IPv6 address in brackets: `[::1]:5300`. */
export function hostPort (host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`
}

/**
 * The network a client address counts under for per-client limits: its /24 for IPv4 (IPv4-mapped
 * IPv6 included) and its /56 for IPv6, the granularity that resolvers, RRL and ECS use.
 */
export function clientPrefix (address: string): string {
  address = unmapIPv4(address)
  if (isIPv4(address)) return `${address.slice(0, address.lastIndexOf('.'))}.0/24`
  if (!isIPv6(address)) return address
  // Expand to 8 groups and keep the first 56 bits: 3 groups and the high byte of the 4th.
  const [head = '', tail] = address.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t]
  const g = groups.map(x => parseInt(x, 16) || 0)
  return `${(g[0] ?? 0).toString(16)}:${(g[1] ?? 0).toString(16)}:${(g[2] ?? 0).toString(16)}:${((g[3] ?? 0) & 0xff00).toString(16)}::/56`
}
