/**
 * The answer path: raw query bytes in, raw response bytes out, synchronously, reading one
 * AnswerIndex. No I/O, no awaits, no allocation beyond the response buffer and the parsed query.
 * Protocol behaviour follows research/reliability.md §a1–a6 (column "Rec.").
 */
import type { AnswerIndex, NameEntry, Plan } from './answer-index.js'
import { CLASS, CLASSIC_UDP_SIZE, FLAG, RCODE, TYPE } from './constants.js'
import { parseQuery, Status, type Query } from './query.js'

export interface ResponderOptions {
  /** EDNS payload size we advertise and the cap on UDP responses. */
  readonly udpPayloadSize: number
}

/** What happened, for logs and counters. */
export interface Outcome {
  rcode: number
  truncated: boolean
}

/**
 * Build the response to `msg`. `tcp` lifts the size limit and prefixes the 2-byte length.
 * Returns undefined when nothing must be sent (short packets, responses).
 */
export function respond (msg: Buffer, tcp: boolean, index: AnswerIndex, opts: ResponderOptions,
  outcome?: Outcome): Buffer | undefined {
  const q = parseQuery(msg)
  if (q.status === Status.DROP) return undefined
  const prefix = tcp ? 2 : 0
  if (q.opcode !== 0) return errorResponse(msg, q, RCODE.NOTIMP, prefix, opts, outcome)
  if (q.status === Status.FORMERR) return errorResponse(msg, q, RCODE.FORMERR, prefix, opts, outcome)
  if (q.status === Status.BADVERS) return errorResponse(msg, q, RCODE.BADVERS, prefix, opts, outcome)
  if (q.qclass !== CLASS.IN && q.qclass !== CLASS.ANY) return errorResponse(msg, q, RCODE.REFUSED, prefix, opts, outcome)
  const qtype = q.qtype
  if (qtype >= TYPE.TKEY) {
    if (qtype === TYPE.AXFR || qtype === TYPE.IXFR) return errorResponse(msg, q, RCODE.REFUSED, prefix, opts, outcome)
    if (qtype === TYPE.TKEY || qtype === TYPE.TSIG) return errorResponse(msg, q, RCODE.FORMERR, prefix, opts, outcome)
    if (qtype === TYPE.MAILA || qtype === TYPE.MAILB) return errorResponse(msg, q, RCODE.NOTIMP, prefix, opts, outcome)
  }
  const plan = lookup(index, q.key, qtype)
  if (plan === undefined) return errorResponse(msg, q, RCODE.REFUSED, prefix, opts, outcome)
  return write(msg, q, plan, prefix, tcp ? 65535 : udpLimit(q, opts), opts, outcome)
}

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

function optLength (q: Query): number {
  if (!q.edns) return 0
  return 11 + (q.ecsAddress === undefined ? 0 : 8 + q.ecsAddress.length)
}

function write (msg: Buffer, q: Query, plan: Plan, prefix: number, limit: number, opts: ResponderOptions,
  outcome?: Outcome): Buffer {
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
  if (opt > 0) writeOpt(out, prefix + qdEnd + bodyLen, q, 0, opts)
  if (outcome !== undefined) { outcome.rcode = plan.rcode; outcome.truncated = tc }
  return out
}

/** An answer with no records: the question (when we read one) and OPT (when the query had one). */
function errorResponse (msg: Buffer, q: Query, rcode: number, prefix: number, opts: ResponderOptions,
  outcome?: Outcome): Buffer {
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
  if (opt > 0) writeOpt(out, prefix + 12 + qdLen, q, rcode >> 4, opts)
  if (outcome !== undefined) { outcome.rcode = rcode; outcome.truncated = false }
  return out
}

/** OPT: root owner, our payload size, extended rcode, version 0, DO copied, ECS echoed with scope 0. */
function writeOpt (out: Buffer, at: number, q: Query, extRcode: number, opts: ResponderOptions): void {
  out[at] = 0
  out.writeUInt16BE(TYPE.OPT, at + 1)
  out.writeUInt16BE(opts.udpPayloadSize, at + 3)
  out[at + 5] = extRcode
  out[at + 6] = 0 // version
  out.writeUInt16BE(q.dnssecOk ? 0x8000 : 0, at + 7)
  const ecs = q.ecsAddress
  if (ecs === undefined) { out.writeUInt16BE(0, at + 9); return }
  out.writeUInt16BE(8 + ecs.length, at + 9)
  out.writeUInt16BE(8, at + 11)
  out.writeUInt16BE(4 + ecs.length, at + 13)
  out.writeUInt16BE(q.ecsFamily, at + 15)
  out[at + 17] = q.ecsSource
  out[at + 18] = 0 // scope: static data does not depend on the client's subnet
  ecs.copy(out, at + 19)
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
