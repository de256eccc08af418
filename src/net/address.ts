/** Listening addresses, shared by every front end (DNS, redirects, admin API) and the CLI. */
import { isIPv6 } from 'node:net'

/** A socket a front end has bound. */
export interface BoundAddress { readonly proto: 'udp' | 'tcp', readonly host: string, readonly port: number }

/** `host:port`, with an IPv6 address in brackets: `[::1]:5300`. */
export function hostPort (host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`
}
