/**
 * The answer path: raw query bytes in, raw response bytes out, synchronously, reading one
 * AnswerIndex. No I/O, no awaits, no allocation beyond the response buffer and the parsed query.
 * Protocol behaviour is the table in docs/dns.md; RFC 1034/1035, 2181, 6891 and 7873 where it cites them.
 */
import { choose, dependsOnClient, type Choice } from '../core/choose.js'
import { ClientAddress } from '../core/client.js'
import type { RateLimitOptions } from '../config/model.js'
import type { Snapshot } from '../core/core.js'
import { SelectionState } from '../core/select.js'
import type { AnswerIndex, NameEntry, Plan } from './answer-index.js'
import { CLASS, CLASSIC_UDP_SIZE, EDNS_OPTION, FLAG, RCODE, TYPE } from './constants.js'
import { answerCookie, Cookie, type CookieSecrets } from './cookies.js'
import { parseQuery, Status, type Query } from './query.js'
import type { QueryOutcome } from './stats.js'
import { pointerOffset } from './template.js'

/** What a query is answered from: compiled zones plus the core's snapshot of the same config, swapped together. */
export interface Serving {
  readonly answers: AnswerIndex
  readonly snapshot: Pick<Snapshot, 'pools' | 'byName' | 'geo'>
  /** Place clients by their ECS option (geo.ecs). */
  readonly ecs: boolean
  /** Cookies and the server's identity (dns.cookies, dns.server_id); unset: neither. */
  readonly protocol?: ProtocolSettings
}

export interface ProtocolSettings {
  /** Answer COOKIE options with server cookies made and verified with these (RFC 7873, 9018). */
  readonly cookies: CookieSecrets | undefined
  /** NSID (RFC 5001) and the CH TXT id.server / hostname.bind answer. */
  readonly serverId: Buffer | undefined
  /** Response rate limiting, applied by the UDP listener after respond() (dns/rrl.ts). */
  readonly rateLimit: RateLimitOptions | undefined
}

/** Filled in by respond() for `gslb explain`: who the client was taken to be, and the choice made for it. */
export interface ExplainSink {
  readonly reasons: string[]
  client?: ClientAddress | undefined
  choice?: Choice
  pool?: string
  family?: 4 | 6 | 'host'
}

export interface ResponderOptions {
  /** EDNS payload size we advertise and the cap on UDP responses. */
  readonly udpPayloadSize: number
  /** The time server cookies are stamped and checked with (ms since the epoch). @default Date.now */
  readonly now?: () => number
}

/** What happened, for logs and counters (dns/stats.ts). */
export type Outcome = QueryOutcome

/**
 * Build the response to `msg`. `tcp` lifts the size limit and prefixes the 2-byte length.
 * Returns undefined when nothing must be sent (short packets, responses).
 */
export function respond (msg: Buffer, tcp: boolean, serving: Serving, opts: ResponderOptions,
  outcome?: Outcome, client = '', selection: SelectionState = defaultSelection, explain?: ExplainSink): Buffer | undefined {
  const q = parseQuery(msg)
  if (q.status === Status.DROP) return undefined
  if (outcome !== undefined) {
    outcome.qtype = q.qtype; outcome.ecs = q.ecsAt !== -1; outcome.pool = -1; outcome.members = undefined
    outcome.key = q.key; outcome.limitAs = undefined; outcome.cookie = Cookie.NONE
  }
  const prefix = tcp ? 2 : 0
  if (q.opcode !== 0) return errorResponse(msg, q, RCODE.NOTIMP, prefix, opts, outcome)
  if (q.status === Status.FORMERR) return errorResponse(msg, q, RCODE.FORMERR, prefix, opts, outcome)
  if (q.status === Status.BADVERS) return errorResponse(msg, q, RCODE.BADVERS, prefix, opts, outcome)
  const protocol = serving.protocol
  if (protocol !== undefined) {
    if (q.cookieAt !== -1 && protocol.cookies !== undefined) {
      const c = answerCookie(protocol.cookies, msg, q.cookieAt, q.cookieLength, client, Math.floor((opts.now ?? Date.now)() / 1000))
      q.replyCookie = c.reply
      if (outcome !== undefined) outcome.cookie = c.verdict
      // RFC 7873 §5.2.3-5.2.4: over UDP, a server cookie that is not ours (or is too old) gets
      // BADCOOKIE and a fresh one, so the client proves it sees our replies before it is answered;
      // over TCP the handshake already did, and the answer carries the fresh cookie.
      if (c.verdict === Cookie.BAD && !tcp) return errorResponse(msg, q, RCODE.BADCOOKIE, prefix, opts, outcome)
    }
    if (q.nsid && protocol.serverId !== undefined) q.replyNsid = protocol.serverId
  }
  // No question (a cookie request, RFC 7873 §5.4): NOERROR with our cookie; FORMERR when cookies are off.
  if (q.qlen === 0) return errorResponse(msg, q, q.replyCookie === undefined ? RCODE.FORMERR : RCODE.NOERROR, prefix, opts, outcome)
  if (q.qclass !== CLASS.IN && q.qclass !== CLASS.ANY) {
    if (q.qclass === CLASS.CH && protocol?.serverId !== undefined && (q.key === ID_SERVER || q.key === HOSTNAME_BIND)) return chaosIdentity(msg, q, prefix, protocol.serverId, opts, outcome)
    return errorResponse(msg, q, RCODE.REFUSED, prefix, opts, outcome)
  }
  const qtype = q.qtype
  if (qtype >= TYPE.TKEY) {
    if (qtype === TYPE.AXFR || qtype === TYPE.IXFR) return errorResponse(msg, q, RCODE.REFUSED, prefix, opts, outcome)
    if (qtype === TYPE.TKEY || qtype === TYPE.TSIG) return errorResponse(msg, q, RCODE.FORMERR, prefix, opts, outcome)
    if (qtype === TYPE.MAILA || qtype === TYPE.MAILB) return errorResponse(msg, q, RCODE.NOTIMP, prefix, opts, outcome)
  }
  const plan = lookup(serving.answers, q.key, qtype)
  if (plan === undefined) return errorResponse(msg, q, RCODE.REFUSED, prefix, opts, outcome)
  const limit = tcp ? 65535 : udpLimit(q, opts)
  if (plan.dynamic !== undefined) return writeDynamic(msg, q, plan, prefix, limit, opts, serving, client, selection, outcome, explain)
  return write(msg, q, plan, prefix, limit, opts, outcome)
}

const defaultSelection = new SelectionState()

/** Find the plan for a name and type: exact match, else closest encloser → referral, wildcard or NXDOMAIN. */
export function lookup (index: AnswerIndex, key: string, qtype: number): Plan | undefined {
  const names = index.names
  const entry = names.get(key)
  if (entry !== undefined) return planFor(entry, qtype)
  for (let off = (key.charCodeAt(0)) + 1; off < key.length; off += key.charCodeAt(off) + 1) {
    const encloser = names.get(key.slice(off))
    if (encloser === undefined) continue
    if (encloser.referral !== undefined) return encloser.referral
    if (encloser.wildcard !== undefined) return planFor(encloser.wildcard, qtype)
    return encloser.zone.nxdomain
  }
  return undefined
}

function planFor (entry: NameEntry, qtype: number): Plan {
  if (entry.referral !== undefined && !(entry.isCut && qtype === TYPE.DS)) return entry.referral
  return entry.plans.get(qtype) ?? entry.other
}

function udpLimit (q: Query, opts: ResponderOptions): number {
  if (!q.edns) return CLASSIC_UDP_SIZE
  const size = q.udpSize < CLASSIC_UDP_SIZE ? CLASSIC_UDP_SIZE : q.udpSize
  return size < opts.udpPayloadSize ? size : opts.udpPayloadSize
}

/**
 * A plan ending in pool records: the member choice for this pool, family and client (core/choose),
 * written after the plan's prefix with the choice's TTL, and the ECS scope it holds for.
 */
function writeDynamic (msg: Buffer, q: Query, plan: Plan, prefix: number, limit: number, opts: ResponderOptions,
  serving: Serving, peer: string, selection: SelectionState, outcome?: Outcome, explain?: ExplainSink): Buffer {
  const d = plan.dynamic as NonNullable<Plan['dynamic']>
  const view = serving.snapshot.pools[d.pool]
  if (view === undefined) return errorResponse(msg, q, RCODE.SERVFAIL, prefix, opts, outcome)
  const client = dependsOnClient(view) || explain !== undefined ? clientOf(msg, q, peer, serving.ecs) : undefined
  const c = choose(serving.snapshot, view, d.family, client, selection, {}, explain?.reasons)
  if (explain !== undefined) { explain.client = client; explain.choice = c; explain.pool = view.name; explain.family = d.family }
  if (outcome !== undefined) { outcome.pool = view.slot; outcome.members = c.members }
  // The scope tells a resolver for which clients it may cache this answer (only for an ECS client),
  // a NODATA or SERVFAIL that depends on the client as much as an answer.
  const scope = client?.source === 'ecs' && c.scope > 0 ? c.scope + client.scopeOffset : 0
  const decision = c.decision
  if (decision.kind === 'servfail') return errorResponse(msg, q, RCODE.SERVFAIL, prefix, opts, outcome, scope)
  const chosen = c.members
  if (chosen.length === 0) return write(msg, q, d.nodata, prefix, limit, opts, outcome, scope)
  const t = plan.template
  const body = t.resolve(q.qlen)
  const qdEnd = 12 + q.qlen + 4
  const opt = optLength(q)
  let dyn = 0
  for (const m of chosen) dyn += 12 + m.rdata.length
  const tc = qdEnd + body.length + dyn + opt > limit
  const size = tc ? qdEnd + opt : qdEnd + body.length + dyn + opt
  const out = Buffer.allocUnsafe(prefix + size)
  if (prefix === 2) out.writeUInt16BE(size, 0)
  out.writeUInt16BE(q.id, prefix)
  out.writeUInt16BE(FLAG.QR | FLAG.AA | (tc ? FLAG.TC : 0) | (q.flags & (FLAG.RD | FLAG.CD)), prefix + 2)
  out.writeUInt16BE(1, prefix + 4)
  out.writeUInt16BE(tc ? 0 : t.an + chosen.length, prefix + 6)
  out.writeUInt32BE(opt > 0 ? 1 : 0, prefix + 8)
  msg.copy(out, prefix + 12, 12, qdEnd)
  let at = prefix + qdEnd
  if (!tc) {
    body.copy(out, at)
    at += body.length
    const owner = 0xc000 | pointerOffset(d.ownerKind, d.ownerValue, q.qlen)
    const ttl = c.ttl
    for (const m of chosen) {
      out.writeUInt16BE(owner, at)
      out.writeUInt16BE(d.type, at + 2)
      out.writeUInt16BE(1, at + 4)
      out.writeUInt32BE(ttl, at + 6)
      out.writeUInt16BE(m.rdata.length, at + 10)
      m.rdata.copy(out, at + 12)
      at += 12 + m.rdata.length
    }
  }
  if (opt > 0) writeOpt(out, at, opt, msg, q, 0, opts, scope)
  if (outcome !== undefined) { outcome.rcode = 0; outcome.truncated = tc }
  return out
}

/**
 * Who the answer is for: the ECS subnet when the query has one with a source prefix above 0 and
 * geo.ecs is on (RFC 7871 §7.1.2: source 0 means "do not use my address"), else the resolver.
 */
function clientOf (msg: Buffer, q: Query, peer: string, ecs: boolean): ClientAddress | undefined {
  if (ecs && q.ecsAt !== -1 && q.ecsSource > 0) return ClientAddress.fromEcs(q.ecsFamily, q.ecsSource, msg, q.ecsAt)
  return ClientAddress.fromText(peer, 'peer')
}

function optLength (q: Query): number {
  if (!q.edns) return 0
  return 11 + (q.ecsAt === -1 ? 0 : 8 + q.ecsLength) + (q.replyCookie === undefined ? 0 : 4 + q.replyCookie.length) + (q.replyNsid === undefined ? 0 : 4 + q.replyNsid.length)
}

function write (msg: Buffer, q: Query, plan: Plan, prefix: number, limit: number, opts: ResponderOptions,
  outcome?: Outcome, scope = 0): Buffer {
  const t = plan.template
  const body = t.resolve(q.qlen)
  const qdEnd = 12 + q.qlen + 4
  const opt = optLength(q)
  let bodyLen = body.length
  let ar = t.arTotal
  let tc = false
  if (qdEnd + bodyLen + opt > limit) {
    // Drop optional additional data first; if the required part still does not fit, send TC=1
    // with the question only, so the client retries over TCP (RFC 2181 §9).
    bodyLen = t.requiredLength
    ar = t.arRequired
    if (qdEnd + bodyLen + opt > limit) { bodyLen = 0; tc = true }
  }
  const out = Buffer.allocUnsafe(prefix + qdEnd + bodyLen + opt)
  if (prefix === 2) out.writeUInt16BE(qdEnd + bodyLen + opt, 0)
  const flags = FLAG.QR | (plan.aa ? FLAG.AA : 0) | (tc ? FLAG.TC : 0) | (q.flags & (FLAG.RD | FLAG.CD)) | plan.rcode
  out.writeUInt16BE(q.id, prefix)
  out.writeUInt16BE(flags, prefix + 2)
  out.writeUInt16BE(1, prefix + 4)
  out.writeUInt16BE(tc ? 0 : t.an, prefix + 6)
  out.writeUInt16BE(tc ? 0 : t.ns, prefix + 8)
  out.writeUInt16BE((tc ? 0 : ar) + (opt > 0 ? 1 : 0), prefix + 10)
  msg.copy(out, prefix + 12, 12, qdEnd)
  if (bodyLen > 0) body.copy(out, prefix + qdEnd, 0, bodyLen)
  if (opt > 0) writeOpt(out, prefix + qdEnd + bodyLen, opt, msg, q, 0, opts, scope)
  if (outcome !== undefined) { outcome.rcode = plan.rcode; outcome.truncated = tc; outcome.limitAs = plan.limitAs }
  return out
}

/** An answer with no records: the question (when we read one) and OPT (when the query had one). */
function errorResponse (msg: Buffer, q: Query, rcode: number, prefix: number, opts: ResponderOptions,
  outcome?: Outcome, scope = 0): Buffer {
  const qdLen = q.qlen > 0 && q.status !== Status.FORMERR ? q.qlen + 4 : 0
  // OPT is echoed only when the query's EDNS was readable (not on FORMERR).
  const opt = q.status === Status.FORMERR ? 0 : optLength(q)
  const out = Buffer.allocUnsafe(prefix + 12 + qdLen + opt)
  if (prefix === 2) out.writeUInt16BE(12 + qdLen + opt, 0)
  // NOTIMP: opcode echoed and no other flag copied (genreport "opcodeflg"); else RD and CD copied.
  const copied = rcode === RCODE.NOTIMP ? 0 : q.flags & (FLAG.RD | FLAG.CD)
  out.writeUInt16BE(q.id, prefix)
  out.writeUInt16BE(FLAG.QR | (q.opcode << 11) | copied | (rcode & 0xf), prefix + 2)
  out.writeUInt16BE(qdLen > 0 ? 1 : 0, prefix + 4)
  out.writeUInt32BE(0, prefix + 6)
  out.writeUInt16BE(opt > 0 ? 1 : 0, prefix + 10)
  if (qdLen > 0) msg.copy(out, prefix + 12, 12, 12 + qdLen)
  if (opt > 0) writeOpt(out, prefix + 12 + qdLen, opt, msg, q, rcode >> 4, opts, scope)
  if (outcome !== undefined) { outcome.rcode = rcode; outcome.truncated = false }
  return out
}

/**
 * OPT: root owner, our payload size, extended rcode, version 0, DO copied, then the options: ECS
 * echoed with its scope, our COOKIE, our NSID.
 */
function writeOpt (out: Buffer, at: number, opt: number, msg: Buffer, q: Query, extRcode: number, opts: ResponderOptions, scope = 0): void {
  out[at] = 0
  out.writeUInt16BE(TYPE.OPT, at + 1)
  out.writeUInt16BE(opts.udpPayloadSize, at + 3)
  out[at + 5] = extRcode
  out[at + 6] = 0 // version
  out.writeUInt16BE(q.dnssecOk ? 0x8000 : 0, at + 7)
  out.writeUInt16BE(opt - 11, at + 9)
  let p = at + 11
  if (q.ecsAt !== -1) {
    const len = q.ecsLength
    out.writeUInt16BE(EDNS_OPTION.ECS, p)
    out.writeUInt16BE(4 + len, p + 2)
    out.writeUInt16BE(q.ecsFamily, p + 4)
    out[p + 6] = q.ecsSource
    out[p + 7] = scope // 0 unless the answer depended on the client's subnet (geo, nearest, hash)
    msg.copy(out, p + 8, q.ecsAt, q.ecsAt + len)
    p += 8 + len
  }
  if (q.replyCookie !== undefined) p = writeOption(out, p, EDNS_OPTION.COOKIE, q.replyCookie)
  if (q.replyNsid !== undefined) writeOption(out, p, EDNS_OPTION.NSID, q.replyNsid)
}

function writeOption (out: Buffer, at: number, code: number, data: Buffer): number {
  out.writeUInt16BE(code, at)
  out.writeUInt16BE(data.length, at + 2)
  data.copy(out, at + 4)
  return at + 4 + data.length
}

/** `id.server.` and `hostname.bind.` as lookup keys (RFC 4892). */
const ID_SERVER = '\x02id\x06server\x00'
const HOSTNAME_BIND = '\x08hostname\x04bind\x00'

/**
 * CH TXT id.server / hostname.bind: this server's `dns.server_id` (RFC 4892), the name operators
 * of several nodes ask to see which one answered. Other types get NODATA.
 */
function chaosIdentity (msg: Buffer, q: Query, prefix: number, id: Buffer, opts: ResponderOptions, outcome?: Outcome): Buffer {
  const txt = q.qtype === TYPE.TXT || q.qtype === TYPE.ANY
  const qdEnd = 12 + q.qlen + 4
  const rr = txt ? 12 + 1 + id.length : 0
  const opt = optLength(q)
  const size = qdEnd + rr + opt
  const out = Buffer.allocUnsafe(prefix + size)
  if (prefix === 2) out.writeUInt16BE(size, 0)
  out.writeUInt16BE(q.id, prefix)
  out.writeUInt16BE(FLAG.QR | FLAG.AA | (q.flags & (FLAG.RD | FLAG.CD)), prefix + 2)
  out.writeUInt16BE(1, prefix + 4)
  out.writeUInt16BE(txt ? 1 : 0, prefix + 6)
  out.writeUInt16BE(0, prefix + 8)
  out.writeUInt16BE(opt > 0 ? 1 : 0, prefix + 10)
  msg.copy(out, prefix + 12, 12, qdEnd)
  let at = prefix + qdEnd
  if (txt) {
    out.writeUInt16BE(0xc00c, at)
    out.writeUInt16BE(TYPE.TXT, at + 2)
    out.writeUInt16BE(CLASS.CH, at + 4)
    out.writeUInt32BE(0, at + 6)
    out.writeUInt16BE(1 + id.length, at + 10)
    out[at + 12] = id.length
    id.copy(out, at + 13)
    at += rr
  }
  if (opt > 0) writeOpt(out, at, opt, msg, q, 0, opts)
  if (outcome !== undefined) { outcome.rcode = RCODE.NOERROR; outcome.truncated = false }
  return out
}

/** SERVFAIL for a query whose answer could not be built (a bug): the server stays up. */
export function servfail (msg: Buffer, tcp: boolean): Buffer | undefined {
  if (msg.length < 12) return undefined
  const out = Buffer.alloc((tcp ? 2 : 0) + 12)
  const p = tcp ? 2 : 0
  if (tcp) out.writeUInt16BE(12, 0)
  out.writeUInt16BE(msg.readUInt16BE(0), p)
  out.writeUInt16BE(FLAG.QR | (msg.readUInt16BE(2) & (0x7800 | FLAG.RD)) | RCODE.SERVFAIL, p + 2)
  return out
}
