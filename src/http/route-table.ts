/**
 * Host + path prefix → route. Exact hosts are one Map lookup; wildcard hosts ("*.example.test",
 * any name below) are tried from the most specific. Within a host, the longest prefix wins.
 */
import type { RouteConfig } from '../config/model.js'

export interface RouteMatch { readonly kind: 'route', readonly route: RouteConfig, readonly index: number }
export type Match = RouteMatch | { readonly kind: 'unknown-host' } | { readonly kind: 'no-route' }

const UNKNOWN_HOST: Match = { kind: 'unknown-host' }
const NO_ROUTE: Match = { kind: 'no-route' }

export class RouteTable {
  readonly #exact = new Map<string, RouteMatch[]>()
  readonly #wild: Array<{ suffix: string, routes: RouteMatch[] }> = []
  /** The last host looked up and its routes: comparing strings is cheaper than hashing one. */
  #lastHost = ''
  #lastRoutes: RouteMatch[] | undefined

  constructor (routes: readonly RouteConfig[]) {
    const wild = new Map<string, RouteMatch[]>()
    routes.forEach((route, index) => {
      for (const h of route.hosts) {
        const target = h.startsWith('*.') ? wild : this.#exact
        const key = h.startsWith('*.') ? h.slice(1) : h
        const list = target.get(key) ?? []
        list.push({ kind: 'route', route, index })
        target.set(key, list)
      }
    })
    const byLength = (a: { route: RouteConfig }, b: { route: RouteConfig }): number => b.route.path.length - a.route.path.length
    for (const list of this.#exact.values()) list.sort(byLength)
    for (const [suffix, list] of [...wild].sort((a, b) => b[0].length - a[0].length)) this.#wild.push({ suffix, routes: list.sort(byLength) })
  }

  /** `host` lowercase without port or trailing dot; `path` normalised. */
  match (host: string, path: string): Match {
    let list: RouteMatch[] | undefined
    if (host === this.#lastHost) list = this.#lastRoutes
    else {
      list = this.#exact.get(host) ?? this.#wild.find(w => host.endsWith(w.suffix) && host.length > w.suffix.length)?.routes
      this.#lastHost = host
      this.#lastRoutes = list
    }
    if (list === undefined) return UNKNOWN_HOST
    for (let i = 0; i < list.length; i++) {
      const r = list[i] as RouteMatch
      // The prefix ends in "/"; "/pub" also matches "/pub/".
      const prefix = r.route.path
      if (path.startsWith(prefix) || (path.length === prefix.length - 1 && prefix.startsWith(path))) return r
    }
    return NO_ROUTE
  }
}
