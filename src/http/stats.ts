/**
 * What the redirect service counts per request for metrics, in flat arrays: responses by route and
 * status, redirects by member (the core's stable member slots). Routes get stable slots by their
 * hosts and path; requests answered before a route matched count under the route "-".
 */
import { Slots, SlotCounts } from '../core/slots.js'
import type { RouteConfig } from '../config/model.js'

/** Statuses counted by code; the rest count as "other". */
export const STATUSES = [200, 301, 302, 303, 307, 308, 400, 404, 421, 503] as const
const STATUS_SLOT = new Map<number, number>(STATUSES.map((s, i) => [s, i]))
const WIDTH = STATUSES.length + 1

export class HttpStats {
  readonly routes = new Slots()
  /** [route slot][status slot], flattened. */
  readonly responses = new SlotCounts()
  readonly memberRedirects = new SlotCounts()
  /** The slot of requests answered before a route matched. */
  readonly noRoute = this.routes.of('-')

  routeSlot (route: RouteConfig): number { return this.routes.of(routeName(route)) }

  count (routeSlot: number, status: number): void {
    this.responses.add(routeSlot * WIDTH + (STATUS_SLOT.get(status) ?? STATUSES.length))
  }

  /** Responses of route `slot` with status index `i` (STATUSES, then "other"). */
  responsesOf (slot: number, i: number): number { return this.responses.get(slot * WIDTH + i) }
}

/** How a route is named in metrics: its first host and its path. */
export function routeName (route: RouteConfig): string {
  return `${route.hosts[0] ?? ''}${route.hosts.length > 1 ? `+${route.hosts.length - 1}` : ''}${route.path}`
}
