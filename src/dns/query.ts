/**
 * Parses an incoming query with direct Buffer reads: header, the one question (lowercased into a
 * lookup key), the other sections skipped with bounds and pointer checks, and EDNS (OPT, ECS).
 * Hot path: no exceptions for control flow and no per-label allocation. Whatever the input, the
 * result is a Query whose `status` says how to answer (the table in docs/dns.md).
 */
import { EDNS_OPTION, TYPE } from './constants.js'
import { cookieLengthOk } from './cookies.js'

export const Status = {
  /** Answer it. */
  OK: 0,
  /** Too short, or a response (QR=1): send nothing. */
  DROP: 1,
  FORMERR: 2,
  /** EDNS version above 0. */
  BADVERS: 3,
} as const
export type Status = typeof Status[keyof typeof Status]

export class Query {
  status: Status = Status.OK
  id = 0
  flags = 0
  opcode = 0
  /** Wire length of the query name; 0 when no complete question was read. */
  qlen = 0
  /** Lowercase wire form of the name as a latin1 string (the AnswerIndex key). */
  key = ''
  qtype = 0
  qclass = 0
  edns = false
  ednsVersion = 0
  udpSize = 512
  dnssecOk = false
  /** ECS option as received: family, source prefix length, and where its address bytes are in the message (-1: no ECS). */
  ecsFamily = 0
  ecsSource = 0
  ecsAt = -1
  ecsLength = 0
  /** Where the first COOKIE option's data is (-1: none) and its length, 8 or 16 to 40 (RFC 7873 §4). */
  cookieAt = -1
  cookieLength = 0
  /** The query asks for the server's NSID (RFC 5001). */
  nsid = false
  /** Set by the responder before the reply is written: our COOKIE and NSID option data. */
  replyCookie: Buffer | undefined = undefined
  replyNsid: Buffer | undefined = undefined
}

const scratch = Buffer.alloc(256)

export function parseQuery (msg: Buffer): Query {
  const q = new Query()
  const len = msg.length
  if (len < 12 || (msg[2] as number) & 0x80) { q.status = Status.DROP; return q }
  q.id = msg.readUInt16BE(0)
  q.flags = msg.readUInt16BE(2)
  q.opcode = (q.flags >> 11) & 0xf
  const qd = msg.readUInt16BE(4)
  const an = msg.readUInt16BE(6)
  const ns = msg.readUInt16BE(8)
  const ar = msg.readUInt16BE(10)
  if (qd > 1) { q.status = Status.FORMERR; return q }
  if (qd === 0) return readCookieOnly(msg, q, an + ns, ar)

  // Question name: plain labels only, no compression, at most 255 octets.
  let pos = 12
  for (;;) {
    if (pos >= len) { q.status = Status.FORMERR; return q }
    const l = msg[pos] as number
    if (l === 0) break
    if (l > 63) { q.status = Status.FORMERR; return q } // pointer (11) or extended label (01, 10)
    pos += l + 1
    if (pos - 12 >= 255) { q.status = Status.FORMERR; return q }
  }
  const qlen = pos + 1 - 12
  if (pos + 5 > len) { q.status = Status.FORMERR; return q }
  // Label length octets are < 64, so lowercasing every octet of the name is safe.
  for (let i = 0; i < qlen; i++) {
    const c = msg[12 + i] as number
    scratch[i] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c
  }
  q.key = scratch.toString('latin1', 0, qlen)
  q.qlen = qlen
  q.qtype = msg.readUInt16BE(pos + 1)
  q.qclass = msg.readUInt16BE(pos + 3)
  pos += 5

  // Answer and authority sections: skipped, but must be well formed and hold no OPT.
  for (let i = 0; i < an + ns; i++) {
    pos = skipRecord(msg, pos, false, q)
    if (pos < 0) { q.status = Status.FORMERR; return q }
  }
  for (let i = 0; i < ar; i++) {
    pos = skipRecord(msg, pos, true, q)
    if (pos < 0) { q.status = Status.FORMERR; return q }
  }
  if (q.edns && q.ednsVersion > 0) q.status = Status.BADVERS
  return q
}

/**
 * No question: allowed only with a COOKIE option, as a client learning or refreshing a server
 * cookie (RFC 7873 §5.4); the reply is NOERROR with no question. Anything else is FORMERR.
 */
function readCookieOnly (msg: Buffer, q: Query, records: number, ar: number): Query {
  let pos = 12
  for (let i = 0; i < records + ar; i++) {
    pos = skipRecord(msg, pos, i >= records, q)
    if (pos < 0) { q.status = Status.FORMERR; return q }
  }
  if (q.cookieAt === -1) q.status = Status.FORMERR
  else if (q.ednsVersion > 0) q.status = Status.BADVERS
  return q
}

/** Returns the offset after the record, or -1 when malformed. Reads OPT into `q` when allowed. */
function skipRecord (msg: Buffer, start: number, optAllowed: boolean, q: Query): number {
  const nameStart = start
  const pos = skipName(msg, start)
  if (pos < 0 || pos + 10 > msg.length) return -1
  const type = msg.readUInt16BE(pos)
  const rdlen = msg.readUInt16BE(pos + 8)
  const end = pos + 10 + rdlen
  if (end > msg.length) return -1
  if (type !== TYPE.OPT) return end
  // OPT: only in the additional section, only once, owned by the root (RFC 6891 §6.1.1).
  if (!optAllowed || q.edns || pos !== nameStart + 1) return -1
  q.edns = true
  q.udpSize = msg.readUInt16BE(pos + 2)
  q.ednsVersion = msg[pos + 5] as number
  q.dnssecOk = ((msg[pos + 6] as number) & 0x80) !== 0
  for (let o = pos + 10; o < end;) {
    if (o + 4 > end) return -1
    const code = msg.readUInt16BE(o)
    const olen = msg.readUInt16BE(o + 2)
    if (o + 4 + olen > end) return -1
    if (code === EDNS_OPTION.ECS && !readEcs(msg, o + 4, olen, q)) return -1
    if (code === EDNS_OPTION.COOKIE && q.cookieAt === -1) {
      // A malformed cookie is FORMERR (RFC 7873 §5.2.2); later COOKIE options are ignored (§5.2).
      if (!cookieLengthOk(olen)) return -1
      q.cookieAt = o + 4
      q.cookieLength = olen
    }
    if (code === EDNS_OPTION.NSID) q.nsid = true
    o += 4 + olen
  }
  return end
}

/** RFC 7871 §6: reject anything malformed (FORMERR), keep the option to echo. */
function readEcs (msg: Buffer, at: number, olen: number, q: Query): boolean {
  if (olen < 4 || q.ecsAt !== -1) return false
  const family = msg.readUInt16BE(at)
  const source = msg[at + 2] as number
  const scope = msg[at + 3] as number
  const bytes = olen - 4
  if (family !== 1 && family !== 2) return false
  if (source > (family === 1 ? 32 : 128) || scope !== 0) return false
  if (bytes !== Math.ceil(source / 8)) return false
  if (bytes > 0 && source % 8 !== 0) {
    const mask = 0xff >> (source % 8)
    if (((msg[at + 4 + bytes - 1] as number) & mask) !== 0) return false
  }
  q.ecsFamily = family
  q.ecsSource = source
  q.ecsAt = at + 4
  q.ecsLength = bytes
  return true
}

/** Skip a possibly compressed name; pointers must go backwards and the name stay ≤ 255 octets. */
function skipName (msg: Buffer, start: number): number {
  let pos = start
  let end = -1
  let total = 0
  for (let hops = 0; hops < 128; hops++) {
    if (pos >= msg.length) return -1
    const l = msg[pos] as number
    if (l === 0) return end === -1 ? pos + 1 : end
    if ((l & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length) return -1
      const target = ((l & 0x3f) << 8) | (msg[pos + 1] as number)
      if (target >= pos) return -1
      if (end === -1) end = pos + 2
      pos = target
      continue
    }
    if (l > 63) return -1
    total += l + 1
    if (total > 254) return -1
    pos += l + 1
  }
  return -1
}
