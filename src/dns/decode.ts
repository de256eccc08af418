/**
 * A complete, strict DNS message decoder: every section, names with compression, and the record
 * types we serve. Not on the answer path; used by tests (beside dns2, as an independent check),
 * the fuzzer's reply check and tooling. Throws DecodeError on any malformed input.
 */
import { bytesToIp } from '../core/wire-bytes.js'
import { TYPE, TYPE_NAME } from './constants.js'

export class DecodeError extends Error {
  override name = 'DecodeError'
}

export interface DecodedRecord {
  name: string
  type: number
  typeName: string
  class: number
  ttl: number
  /** Text form of the data, dig-like: `192.0.2.1`, `10 mail.example.test.`, `"text"`. */
  data: string
  rdata: Buffer
}

export interface OptData {
  udpSize: number
  extRcode: number
  version: number
  dnssecOk: boolean
  options: Array<{ code: number, data: Buffer }>
}

export interface DecodedMessage {
  id: number
  qr: boolean
  opcode: number
  aa: boolean
  tc: boolean
  rd: boolean
  ra: boolean
  z: boolean
  ad: boolean
  cd: boolean
  /** Full rcode, the OPT extension included. */
  rcode: number
  question: Array<{ name: string, type: number, class: number }>
  answer: DecodedRecord[]
  authority: DecodedRecord[]
  additional: DecodedRecord[]
  opt: OptData | undefined
}

export function decodeMessage (buf: Buffer): DecodedMessage {
  if (buf.length < 12) throw new DecodeError('shorter than a header')
  const flags = buf.readUInt16BE(2)
  const counts = [4, 6, 8, 10].map(o => buf.readUInt16BE(o)) as [number, number, number, number]
  const m: DecodedMessage = {
    id: buf.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    z: (flags & 0x0040) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 0xf,
    question: [],
    answer: [],
    authority: [],
    additional: [],
    opt: undefined,
  }
  let pos = 12
  for (let i = 0; i < counts[0]; i++) {
    const [name, next] = readName(buf, pos)
    need(buf, next + 4)
    m.question.push({ name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) })
    pos = next + 4
  }
  const sections = [m.answer, m.authority, m.additional]
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < (counts[s + 1] as number); i++) {
      const [rr, next] = readRecord(buf, pos)
      pos = next
      if (rr.type === TYPE.OPT) {
        if (s !== 2 || m.opt !== undefined || rr.name !== '.') throw new DecodeError('misplaced or repeated OPT')
        m.opt = readOpt(rr)
        m.rcode |= m.opt.extRcode << 4
        continue
      }
      ;(sections[s] as DecodedRecord[]).push(rr)
    }
  }
  if (pos !== buf.length) throw new DecodeError(`${buf.length - pos} trailing bytes`)
  return m
}

function readOpt (rr: DecodedRecord): OptData {
  const options: OptData['options'] = []
  for (let o = 0; o < rr.rdata.length;) {
    need(rr.rdata, o + 4)
    const code = rr.rdata.readUInt16BE(o)
    const len = rr.rdata.readUInt16BE(o + 2)
    need(rr.rdata, o + 4 + len)
    options.push({ code, data: rr.rdata.subarray(o + 4, o + 4 + len) })
    o += 4 + len
  }
  return {
    udpSize: rr.class,
    extRcode: rr.ttl >>> 24,
    version: (rr.ttl >>> 16) & 0xff,
    dnssecOk: (rr.ttl & 0x8000) !== 0,
    options,
  }
}

function readRecord (buf: Buffer, start: number): [DecodedRecord, number] {
  const [name, pos] = readName(buf, start)
  need(buf, pos + 10)
  const type = buf.readUInt16BE(pos)
  const cls = buf.readUInt16BE(pos + 2)
  const ttl = buf.readUInt32BE(pos + 4)
  const len = buf.readUInt16BE(pos + 8)
  const at = pos + 10
  need(buf, at + len)
  const rdata = buf.subarray(at, at + len)
  return [{ name, type, typeName: TYPE_NAME[type] ?? `TYPE${type}`, class: cls, ttl, data: rdataText(buf, type, at, len), rdata }, at + len]
}

function rdataText (buf: Buffer, type: number, at: number, len: number): string {
  const end = at + len
  const nameAt = (o: number): [string, number] => {
    const r = readName(buf, o)
    if (r[1] > end) throw new DecodeError('name runs past its record')
    return r
  }
  const exact = (o: number): string => { if (o !== end) throw new DecodeError('record data length mismatch'); return '' }
  switch (type) {
    case TYPE.A:
      if (len !== 4) throw new DecodeError('A record data must be 4 bytes')
      return bytesToIp(buf.subarray(at, end))
    case TYPE.AAAA:
      if (len !== 16) throw new DecodeError('AAAA record data must be 16 bytes')
      return bytesToIp(buf.subarray(at, end))
    case TYPE.NS:
    case TYPE.CNAME:
    case TYPE.PTR: {
      const [n, o] = nameAt(at)
      return n + exact(o)
    }
    case TYPE.MX: {
      need(buf, at + 2)
      const [n, o] = nameAt(at + 2)
      return `${buf.readUInt16BE(at)} ${n}${exact(o)}`
    }
    case TYPE.SRV: {
      need(buf, at + 6)
      const [n, o] = nameAt(at + 6)
      return `${buf.readUInt16BE(at)} ${buf.readUInt16BE(at + 2)} ${buf.readUInt16BE(at + 4)} ${n}${exact(o)}`
    }
    case TYPE.SOA: {
      const [mname, o1] = nameAt(at)
      const [rname, o2] = nameAt(o1)
      if (o2 + 20 !== end) throw new DecodeError('SOA record data length mismatch')
      const nums = [0, 4, 8, 12, 16].map(i => buf.readUInt32BE(o2 + i))
      return `${mname} ${rname} ${nums.join(' ')}`
    }
    case TYPE.TXT:
    case TYPE.HINFO: {
      const parts: string[] = []
      for (let o = at; o < end;) {
        const l = buf[o] as number
        if (o + 1 + l > end) throw new DecodeError('character-string runs past its record')
        parts.push(JSON.stringify(buf.subarray(o + 1, o + 1 + l).toString('latin1')))
        o += 1 + l
      }
      return parts.join(' ')
    }
    case TYPE.CAA: {
      if (len < 2) throw new DecodeError('CAA record too short')
      const tl = buf[at + 1] as number
      if (2 + tl > len) throw new DecodeError('CAA tag runs past its record')
      return `${buf[at]} ${buf.subarray(at + 2, at + 2 + tl).toString('latin1')} ${JSON.stringify(buf.subarray(at + 2 + tl, end).toString('utf8'))}`
    }
    default:
      return `\\# ${len} ${buf.subarray(at, end).toString('hex')}`
  }
}

/** A name in dotted text form with a trailing dot (`.` for the root). */
export function readName (buf: Buffer, start: number): [string, number] {
  const labels: string[] = []
  let pos = start
  let end = -1
  let total = 0
  for (let hops = 0; ; hops++) {
    if (hops > 127) throw new DecodeError('too many labels or pointers')
    need(buf, pos + 1)
    const l = buf[pos] as number
    if (l === 0) { if (end === -1) end = pos + 1; break }
    if ((l & 0xc0) === 0xc0) {
      need(buf, pos + 2)
      const target = ((l & 0x3f) << 8) | (buf[pos + 1] as number)
      if (target >= pos) throw new DecodeError('compression pointer does not point backwards')
      if (end === -1) end = pos + 2
      pos = target
      continue
    }
    if (l > 63) throw new DecodeError('unsupported label type')
    need(buf, pos + 1 + l)
    total += l + 1
    if (total > 254) throw new DecodeError('name longer than 255 octets')
    labels.push(buf.subarray(pos + 1, pos + 1 + l).toString('latin1').replace(/[.\\]/g, c => `\\${c}`))
    pos += 1 + l
  }
  return [labels.length === 0 ? '.' : `${labels.join('.')}.`, end]
}

function need (buf: Buffer, n: number): void {
  if (n > buf.length) throw new DecodeError('message ends too early')
}
