/** Raw DNS queries for tests, clients over real sockets, and decoding with dns2 and our codec. */
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { connect } from 'node:net'
import dns2 from 'dns2'
import { decodeMessage, type DecodedMessage } from '../../src/dns/decode.js'

export interface EdnsOptions {
  udpSize?: number
  version?: number
  do?: boolean
  /** Raw flag bits after DO (MBZ). */
  extraFlags?: number
  options?: Array<{ code: number, data: Buffer }>
}

export interface QueryOptions {
  id?: number
  name: string
  type?: number
  cls?: number
  /** Header flag bits other than opcode (RD=0x0100, CD=0x0010, ...). */
  flags?: number
  opcode?: number
  edns?: EdnsOptions | false
}

export function encodeName (name: string): Buffer {
  const parts: Buffer[] = []
  for (const label of name.replace(/\.$/, '').split('.')) {
    if (label === '') continue
    parts.push(Buffer.from([label.length]), Buffer.from(label, 'latin1'))
  }
  parts.push(Buffer.from([0]))
  return Buffer.concat(parts)
}

export function buildOpt (e: EdnsOptions): Buffer {
  const opts = Buffer.concat((e.options ?? []).map(o => {
    const h = Buffer.alloc(4)
    h.writeUInt16BE(o.code, 0)
    h.writeUInt16BE(o.data.length, 2)
    return Buffer.concat([h, o.data])
  }))
  const b = Buffer.alloc(11)
  b[0] = 0
  b.writeUInt16BE(41, 1)
  b.writeUInt16BE(e.udpSize ?? 1232, 3)
  b[5] = 0
  b[6] = e.version ?? 0
  b.writeUInt16BE((e.do === true ? 0x8000 : 0) | (e.extraFlags ?? 0), 7)
  b.writeUInt16BE(opts.length, 9)
  return Buffer.concat([b, opts])
}

let nextId = 1
export function buildQuery (o: QueryOptions): Buffer {
  const h = Buffer.alloc(12)
  h.writeUInt16BE(o.id ?? (nextId++ & 0xffff), 0)
  h.writeUInt16BE(((o.opcode ?? 0) << 11) | (o.flags ?? 0), 2)
  h.writeUInt16BE(1, 4)
  const edns = o.edns === undefined ? {} : o.edns
  h.writeUInt16BE(edns === false ? 0 : 1, 10)
  const q = Buffer.alloc(4)
  q.writeUInt16BE(o.type ?? 1, 0)
  q.writeUInt16BE(o.cls ?? 1, 2)
  return Buffer.concat([h, encodeName(o.name), q, edns === false ? Buffer.alloc(0) : buildOpt(edns)])
}

export function ecsOption (family: number, source: number, scope: number, address: number[]): { code: number, data: Buffer } {
  const d = Buffer.alloc(4 + address.length)
  d.writeUInt16BE(family, 0)
  d[2] = source
  d[3] = scope
  Buffer.from(address).copy(d, 4)
  return { code: 8, data: d }
}

/** Send one datagram; resolves with the reply, or undefined after `timeoutMs` of silence. */
export function udpExchange (port: number, msg: Buffer, host = '127.0.0.1', timeoutMs = 1000): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4')
    const timer = setTimeout(() => { sock.close(); resolve(undefined) }, timeoutMs)
    sock.on('message', m => { clearTimeout(timer); sock.close(); resolve(m) })
    sock.on('error', err => { clearTimeout(timer); sock.close(); reject(err) })
    sock.send(msg, port, host)
  })
}

/**
 * Open one TCP connection (from `localAddress` when given), send every message (pipelined in one
 * write), collect as many replies.
 */
export function tcpExchange (port: number, msgs: Buffer[], host = '127.0.0.1', timeoutMs = 2000, localAddress?: string): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host, ...(localAddress === undefined ? {} : { localAddress }) })
    const replies: Buffer[] = []
    let buf = Buffer.alloc(0)
    const timer = setTimeout(() => { sock.destroy(); resolve(replies) }, timeoutMs)
    sock.on('connect', () => {
      sock.write(Buffer.concat(msgs.map(m => { const l = Buffer.alloc(2); l.writeUInt16BE(m.length); return Buffer.concat([l, m]) })))
    })
    sock.on('data', d => {
      buf = Buffer.concat([buf, d])
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        replies.push(buf.subarray(2, 2 + buf.readUInt16BE(0)))
        buf = buf.subarray(2 + buf.readUInt16BE(0))
      }
      if (replies.length === msgs.length) { clearTimeout(timer); sock.end(); resolve(replies) }
    })
    sock.on('error', err => { clearTimeout(timer); reject(err) })
  })
}

/**
 * Decode with our codec and with dns2 (an independent implementation); both must accept the
 * message and agree on the header and the records.
 */
export function decodeBoth (buf: Buffer): DecodedMessage {
  const ours = decodeMessage(buf)
  const theirs = dns2.Packet.parse(buf) as unknown as {
    header: { id: number, qr: number, aa: number, tc: number, rcode: number }
    questions: Array<{ name: string }>
    answers: Array<{ name: string, type: number, ttl: number }>
    authorities: unknown[]
    additionals: Array<{ type: number }>
    errors?: unknown[]
  }
  assert.deepEqual(theirs.errors ?? [], [], 'dns2 reports decode errors')
  assert.equal(theirs.header.id, ours.id)
  assert.equal(theirs.header.qr === 1, ours.qr)
  assert.equal(theirs.header.aa === 1, ours.aa)
  assert.equal(theirs.header.tc === 1, ours.tc)
  assert.equal(theirs.header.rcode, ours.rcode, "rcode (dns2 folds in the OPT extended rcode)")
  assert.equal(theirs.questions.length, ours.question.length)
  assert.deepEqual(theirs.answers.map(a => [a.name.toLowerCase().replace(/\.$/, ''), a.type, a.ttl]),
    ours.answer.map(a => [a.name.toLowerCase().replace(/\.$/, ''), a.type, a.ttl]))
  assert.equal(theirs.authorities.length, ours.authority.length)
  assert.equal(theirs.additionals.length, ours.additional.length + (ours.opt === undefined ? 0 : 1))
  return ours
}

/**
 * The wire form of a decoded message, uncompressed, OPT last in the additional section: the inverse
 * of decodeMessage for messages written that way. OPT flag bits other than DO are not kept by the
 * decoder, so they come back as 0.
 */
export function encodeMessage (m: DecodedMessage): Buffer {
  const h = Buffer.alloc(12)
  h.writeUInt16BE(m.id, 0)
  const bits: Array<[boolean, number]> = [[m.qr, 0x8000], [m.aa, 0x0400], [m.tc, 0x0200], [m.rd, 0x0100], [m.ra, 0x0080], [m.z, 0x0040], [m.ad, 0x0020], [m.cd, 0x0010]]
  h.writeUInt16BE(bits.reduce((f, [on, bit]) => on ? f | bit : f, (m.opcode << 11) | (m.rcode & 0xf)), 2)
  h.writeUInt16BE(m.question.length, 4)
  h.writeUInt16BE(m.answer.length, 6)
  h.writeUInt16BE(m.authority.length, 8)
  h.writeUInt16BE(m.additional.length + (m.opt === undefined ? 0 : 1), 10)
  const record = (name: string, type: number, cls: number, ttl: number, rdata: Buffer): Buffer => {
    const f = Buffer.alloc(10)
    f.writeUInt16BE(type, 0)
    f.writeUInt16BE(cls, 2)
    f.writeUInt32BE(ttl, 4)
    f.writeUInt16BE(rdata.length, 8)
    return Buffer.concat([encodeTextName(name), f, rdata])
  }
  const parts: Buffer[] = [h]
  for (const q of m.question) {
    const f = Buffer.alloc(4)
    f.writeUInt16BE(q.type, 0)
    f.writeUInt16BE(q.class, 2)
    parts.push(encodeTextName(q.name), f)
  }
  for (const rr of [...m.answer, ...m.authority, ...m.additional]) parts.push(record(rr.name, rr.type, rr.class, rr.ttl, rr.rdata))
  if (m.opt !== undefined) {
    const o = m.opt
    const rdata = Buffer.concat(o.options.map(({ code, data }) => {
      const oh = Buffer.alloc(4)
      oh.writeUInt16BE(code, 0)
      oh.writeUInt16BE(data.length, 2)
      return Buffer.concat([oh, data])
    }))
    const ttl = ((o.extRcode << 24) | (o.version << 16) | (o.dnssecOk ? 0x8000 : 0)) >>> 0
    parts.push(record('.', 41, o.udpSize, ttl, rdata))
  }
  return Buffer.concat(parts)
}

/** A name in decodeMessage's text form (latin1 labels, `\.` and `\\` escaped, trailing dot) on the wire. */
export function encodeTextName (name: string): Buffer {
  const out: number[] = []
  let label: number[] = []
  for (let i = 0; i < name.length; i++) {
    const c = name[i] as string
    if (c === '\\') { label.push(name.charCodeAt(++i)); continue }
    if (c !== '.') { label.push(name.charCodeAt(i)); continue }
    if (label.length > 0) out.push(label.length, ...label)
    label = []
  }
  if (label.length > 0) out.push(label.length, ...label)
  return Buffer.from([...out, 0])
}
