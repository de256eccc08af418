/**
 * What keeps web pages from using the admin API through a browser on the operator's machine:
 *
 * - Cross-site requests: a request with an `Origin` header for another host than the one asked
 *   (a page on evil.example posting to 127.0.0.1:8081) is refused. The CLI and curl send no Origin;
 *   the dashboard's own requests come from the same origin.
 * - DNS rebinding: without a token, the admin API is for this machine only, so the `Host` header
 *   must name it (a loopback address, `localhost`, or the listen address): a name an attacker
 *   points at 127.0.0.1 is refused. With a token, a page cannot have it, so any Host is fine.
 */
import { isLoopback } from './auth.js'

export interface GuardOptions {
  readonly tokenRequired: boolean
  /** The listen address (IP literal). */
  readonly listenHost: string
}

/** Why the request is refused, or undefined when it may go on. */
export function refuseBrowserAbuse (host: string | undefined, origin: string | undefined, opts: GuardOptions): string | undefined {
  const asked = hostName(host)
  if (origin !== undefined && origin !== 'null') {
    let from: string | undefined
    try { from = new URL(origin).host.toLowerCase() } catch { from = undefined }
    if (from === undefined || from !== (host ?? '').toLowerCase()) return `cross-origin request from ${origin} refused`
  } else if (origin === 'null') {
    return 'a request from an opaque origin is refused'
  }
  if (!opts.tokenRequired) {
    if (asked === undefined) return 'a Host header is required'
    const local = asked === 'localhost' || asked === opts.listenHost || isLoopback(asked)
    if (!local) return `Host ${asked} is not this machine: without an admin token the API answers only to loopback names (docs/operations.md)`
  }
  return undefined
}

/** The host name of a Host header, without port or IPv6 brackets, lowercased. */
function hostName (host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined
  const h = host.toLowerCase()
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']'))
  const colon = h.lastIndexOf(':')
  return colon === -1 ? h : h.slice(0, colon)
}
