/**
 * What the DNS front end counts per query for metrics, in flat arrays (a few increments per query,
 * no allocation): queries by transport, query type and rcode; queries with ECS; answers per pool
 * and per member (by the core's stable slots). Turned into Prometheus metrics at scrape time by
 * src/metrics/.
 */
import { SlotCounts } from '../core/slots.js'
import type { MemberView } from '../core/pool-view.js'
import { TYPE } from './constants.js'
import { Cookie } from './cookies.js'
import type { LimitAs } from './rrl.js'

/** Query types counted by name; the rest count as OTHER. */
export const QTYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'SOA', 'SRV', 'CAA', 'PTR', 'ANY', 'DS', 'HTTPS', 'SVCB', 'OTHER'] as const
/** Rcodes counted by name; the rest count as OTHER. */
export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'BADVERS', 'BADCOOKIE', 'OTHER'] as const

/** Query type (below 256) → its slot in QTYPES: a table, not a Map, on the query path. */
const QTYPE_SLOT = new Uint8Array(256).fill(QTYPES.length - 1)
for (const [type, slot] of [[TYPE.A, 0], [TYPE.AAAA, 1], [TYPE.CNAME, 2], [TYPE.MX, 3], [TYPE.TXT, 4], [TYPE.NS, 5], [TYPE.SOA, 6], [TYPE.SRV, 7],
  [TYPE.ANY, 10], [TYPE.PTR, 9], [TYPE.DS, 11], [65, 12], [64, 13]] as const) QTYPE_SLOT[type] = slot
const CAA_SLOT = 8

/** What respond() reports about one query (one object per server, reused). */
export interface QueryOutcome {
  rcode: number
  truncated: boolean
  qtype: number
  ecs: boolean
  /** The pool's slot when the answer came from a pool, else -1. */
  pool: number
  members: readonly MemberView[] | undefined
  /** The query name's lookup key, and how rate limiting classes the response (dns/rrl.ts): unset for an answer or an error. */
  key: string
  limitAs: LimitAs | undefined
  cookie: Cookie
}

export function newOutcome (): QueryOutcome {
  return { rcode: 0, truncated: false, qtype: 0, ecs: false, pool: -1, members: undefined, key: '', limitAs: undefined, cookie: Cookie.NONE }
}

export class DnsStats {
  /** [transport (0 udp, 1 tcp)][qtype slot][rcode slot], flattened. */
  readonly queries = new Float64Array(2 * QTYPES.length * RCODES.length)
  readonly ecs = new Float64Array(2)
  readonly truncated = new Float64Array(1)
  readonly poolAnswers = new SlotCounts()
  readonly memberAnswers = new SlotCounts()

  count (tcp: boolean, o: QueryOutcome): void {
    const q = o.qtype < 256 ? QTYPE_SLOT[o.qtype] as number : o.qtype === TYPE.CAA ? CAA_SLOT : QTYPES.length - 1
    const r = o.rcode <= 5 ? o.rcode : o.rcode === 16 ? 6 : o.rcode === 23 ? 7 : RCODES.length - 1
    const t = tcp ? 1 : 0
    const i = (t * QTYPES.length + q) * RCODES.length + r
    this.queries[i] = (this.queries[i] as number) + 1
    if (o.ecs) this.ecs[t] = (this.ecs[t] as number) + 1
    if (o.truncated) this.truncated[0] = (this.truncated[0] as number) + 1
    if (o.pool >= 0) {
      this.poolAnswers.add(o.pool)
      const m = o.members
      if (m !== undefined) for (let i = 0; i < m.length; i++) this.memberAnswers.add((m[i] as MemberView).slot)
    }
  }

  /** The count for one transport, query type and rcode (by index into QTYPES and RCODES). */
  query (tcp: boolean, qtype: number, rcode: number): number {
    return this.queries[((tcp ? 1 : 0) * QTYPES.length + qtype) * RCODES.length + rcode] ?? 0
  }
}
