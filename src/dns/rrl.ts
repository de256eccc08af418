/**
 * Response rate limiting for UDP (docs/security.md): a token bucket per client network and
 * response class, so that spoofed queries cannot turn gslb into a reflector at full rate.
 *
 * Classes, as BIND and NSD define them: answers per query name and type; NXDOMAIN and NODATA per
 * zone (a random-subdomain flood is one bucket, not one per name); referrals per delegation;
 * errors per network. A bucket holds at most one second of credit and refills at the class's rate;
 * a response with no credit left is limited: every `slip`-th one goes out truncated (TC=1, the
 * question only, so a real client retries over TCP, which is never limited), the rest are dropped.
 * Queries over TCP, from `exempt` networks, or with a valid server cookie are not limited.
 *
 * Per process: with --workers N each worker limits at rate / N (the kernel spreads a flood's
 * packets evenly over the workers' shared socket), so there is no cross-process state on the
 * query path. The table is a Map in least-recently-used order, bounded by `max_table_size`.
 */
import type { RateLimitOptions } from '../config/model.js'
import { addressBytes } from '../core/wire-bytes.js'
import type { Logger } from '../log.js'
import { inCidr } from '../net/cidr.js'
import { Cookie } from './cookies.js'
import { FLAG, RCODE } from './constants.js'
import type { QueryOutcome } from './stats.js'

/** How a response is limited by its plan: NXDOMAIN, NODATA or a referral, under `name` (a zone or a cut). */
export const Limit = { NXDOMAIN: 1, NODATA: 2, REFERRAL: 3 } as const
export interface LimitAs { readonly kind: typeof Limit[keyof typeof Limit], readonly name: string }

export const Verdict = { SEND: 0, DROP: 1, SLIP: 2 } as const
export type Verdict = typeof Verdict[keyof typeof Verdict]

const CLASS_NAME = ['answer', 'nxdomain', 'nodata', 'referral', 'error'] as const
const ERROR_CLASS = 4

interface Bucket {
  credit: number
  /** When credit was last computed (ms). */
  at: number
  /** When the bucket was last moved to the young end of the table (ms). */
  touched: number
  /** Limited responses in the current episode (0: not limited), and when the last one was. */
  limited: number
  limitedAt: number
  readonly network: string
  readonly cls: number
  readonly name: string
}

export interface RrlCounts { dropped: number, slipped: number, logged: number }

export class RateLimiter {
  #o: RateLimitOptions
  #share: number
  readonly #table = new Map<string, Bucket>()
  readonly #now: () => number
  readonly #log: Logger | undefined
  readonly counts: RrlCounts = { dropped: 0, slipped: 0, logged: 0 }
  #logWindowAt = 0
  #logLines = 0
  #v4exempt: Array<[number, number]> = []

  /** `processes`: how many share the traffic (--workers), each limiting at its part of the rate. */
  constructor (opts: RateLimitOptions, processes: number, log?: Logger, now: () => number = Date.now) {
    this.#o = opts
    this.#v4exempt = v4Nets(opts)
    this.#share = 1 / Math.max(1, processes)
    this.#now = now
    this.#log = log
  }

  /** Buckets in the table now. */
  get size (): number { return this.#table.size }

  /** The settings of the configuration serving (called per query: the same object costs a compare). */
  configure (opts: RateLimitOptions): void {
    if (opts === this.#o) return
    // A reload keeps the buckets unless the size of a client network changed.
    if (opts.ipv4Prefix !== this.#o.ipv4Prefix || opts.ipv6Prefix !== this.#o.ipv6Prefix) this.#table.clear()
    this.#o = opts
    this.#v4exempt = v4Nets(opts)
  }

  /** What to do with a UDP response to `client` that respond() described in `o`; SLIP: send slipped(response). */
  check (client: string, o: QueryOutcome): Verdict {
    if (o.cookie === Cookie.VALID) return Verdict.SEND
    const opts = this.#o
    const rcode = o.rcode
    const limitAs = o.limitAs
    const cls = limitAs !== undefined ? limitAs.kind : rcode === RCODE.NOERROR ? 0 : ERROR_CLASS
    const perSecond = (cls === Limit.NXDOMAIN ? opts.nxdomainsPerSecond : cls === ERROR_CLASS ? opts.errorsPerSecond : opts.responsesPerSecond) * this.#share
    if (perSecond === 0) return Verdict.SEND
    const network = this.#network(client)
    if (network === undefined) return Verdict.SEND
    // The name is built only now: exempt clients (loopback by default) never pay for it.
    const name = limitAs !== undefined ? limitAs.name : cls === 0 ? o.key + String.fromCharCode(o.qtype >> 8, o.qtype & 0xff) : ''
    const key = network + '\u0001' + String(cls) + name
    const now = this.#now()
    let b = this.#table.get(key)
    if (b === undefined) {
      if (this.#table.size >= opts.maxTableSize) this.#table.delete(this.#table.keys().next().value as string)
      b = { credit: perSecond, at: now, touched: now, limited: 0, limitedAt: 0, network, cls, name }
      this.#table.set(key, b)
    } else {
      // Keep the Map in least-recently-used order, paying for the move at most once a second.
      if (now - b.touched >= 1000) { this.#table.delete(key); this.#table.set(key, b); b.touched = now }
      const credit = b.credit + (now - b.at) * perSecond / 1000
      b.credit = credit > perSecond ? perSecond : credit
      b.at = now
    }
    if (b.credit >= 1) {
      b.credit -= 1
      if (b.limited > 0 && now - b.limitedAt >= opts.windowMs) this.#episodeEnded(b)
      return Verdict.SEND
    }
    b.limited++
    b.limitedAt = now
    if (b.limited === 1) this.#say(b, 'rate limiting responses to a client network', now)
    if (opts.logOnly) { this.counts.logged++; return Verdict.SEND }
    if (opts.slip > 0 && b.limited % opts.slip === 0) { this.counts.slipped++; return Verdict.SLIP }
    this.counts.dropped++
    return Verdict.DROP
  }

  #episodeEnded (b: Bucket): void {
    this.#say(b, 'client network back under its rate', b.limitedAt)
    b.limited = 0
  }

  /** Log lines about limiting are themselves limited: at most 10 a second. */
  #say (b: Bucket, msg: string, now: number): void {
    if (this.#log === undefined) return
    if (now - this.#logWindowAt >= 1000) { this.#logWindowAt = now; this.#logLines = 0 }
    if (++this.#logLines > 10) return
    const o = this.#o
    this.#log.warn({ network: b.network, class: CLASS_NAME[b.cls], name: nameText(b), limited: b.limited, logOnly: o.logOnly }, msg)
  }

  /** The client's network as a short key, or undefined when it is exempt (or not an address). */
  #network (client: string): string | undefined {
    const o = this.#o
    const bytes = addressBytes(client)
    if (bytes === undefined) return undefined
    if (bytes.length === 4) {
      const a = bytes.readUInt32BE(0)
      for (const [net, mask] of this.#v4exempt) if (((a & mask) >>> 0) === net) return undefined
      const bits = o.ipv4Prefix
      return `${((bits === 32 ? a : a & (~0 << (32 - bits))) >>> 0).toString(16)}/${bits}`
    }
    for (const c of o.exempt) if (c.family === 6 && inCidr(bytes, c)) return undefined
    const bits = o.ipv6Prefix
    const whole = bits >> 3
    let key = bytes.toString('hex', 0, whole)
    if (bits & 7) key += ((bytes[whole] as number) & (0xff00 >> (bits & 7))).toString(16)
    return `${key}/${bits}`
  }
}

/**
 * The truncated form of a limited response: header and question only, TC=1, no records and no
 * OPT, the smallest reply that still makes a real client retry over TCP.
 */
export function slipped (response: Buffer): Buffer {
  let end = 12
  if (response.length >= 12 && response.readUInt16BE(4) === 1) {
    let p = 12
    while (p < response.length && response[p] !== 0) p += (response[p] as number) + 1
    end = Math.min(response.length, p + 5)
  }
  const out = Buffer.from(response.subarray(0, end))
  out.writeUInt16BE((out.readUInt16BE(2) | FLAG.TC) & ~0x000f, 2) // TC, rcode NOERROR: a retry decides it
  out.writeUInt16BE(end > 12 ? 1 : 0, 4)
  out.writeUInt32BE(0, 6)
  out.writeUInt16BE(0, 10)
  return out
}

/** The exempt IPv4 networks as [network, mask] numbers. */
function v4Nets (opts: RateLimitOptions): Array<[number, number]> {
  return opts.exempt.filter(c => c.family === 4).map(c => [c.bytes.readUInt32BE(0), c.bits === 0 ? 0 : (~0 << (32 - c.bits)) >>> 0])
}

/** A bucket's name for the log: the query name and type, the zone or cut, or nothing for errors. */
function nameText (b: Bucket): string {
  if (b.cls === ERROR_CLASS) return ''
  if (b.cls !== 0) return b.name
  const key = b.name.slice(0, -2)
  const labels: string[] = []
  for (let i = 0; i < key.length && key.charCodeAt(i) !== 0; i += key.charCodeAt(i) + 1) labels.push(key.slice(i + 1, i + 1 + key.charCodeAt(i)))
  const text = labels.length === 0 ? '.' : labels.join('.')
  return `${text} type ${(b.name.charCodeAt(b.name.length - 2) << 8) | b.name.charCodeAt(b.name.length - 1)}`
}
