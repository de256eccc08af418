/**
 * Relocatable answer templates: the precompiled part of a response.
 *
 * A response is `header (12) | question (copied from the query: qlen + 4) | body`. The body's
 * records are encoded once, at config load. Their compression pointers point either into the
 * question name (at one of its suffixes) or back into the body; both offsets depend only on the
 * question name's wire length `qlen`. So a template keeps its pointer slots as fixups and is
 * resolved once per `qlen`, then cached: answering a query is a header write and two copies.
 *
 * Invariant: a template built with seed name `S` is only used for query names at or below `S`
 * (any letter case): every suffix of `S` is then a suffix of the query name.
 */
import { TYPE } from './constants.js'
import { ipToBytes } from '../core/wire-bytes.js'
import type { Rdata } from '../config/model.js'

/** The query name itself, whatever it is: a pointer to offset 12. Used for wildcard owners. */
export const QNAME = Symbol('qname')
export type Owner = string | typeof QNAME

const KIND_SUFFIX = 0 // pointer to the suffix of the query name that is `value` octets long
const KIND_BODY = 1 // pointer to body offset `value`
const KIND_QNAME = 2 // pointer to offset 12
/** Worst case bytes before the body: header 12 + longest name 255 + qtype/qclass 4. */
const MAX_BODY_START = 12 + 255 + 4


/** The message offset a pointer fixup resolves to, for a query name of wire length `qlen`. */
export function pointerOffset (kind: number, value: number, qlen: number): number {
  return kind === KIND_SUFFIX ? 12 + qlen - value : kind === KIND_BODY ? 12 + qlen + 4 + value : 12
}

export class Template {
  readonly #bytes: Buffer
  readonly #fixups: Int32Array
  readonly #byQlen: Array<Buffer | undefined> = []
  /** Body length without the optional additional records (dropped first when space is short). */
  readonly requiredLength: number
  readonly an: number
  readonly ns: number
  readonly arRequired: number
  readonly arTotal: number

  constructor (bytes: Buffer, fixups: number[], requiredLength: number, counts: { an: number, ns: number, arRequired: number, arTotal: number }) {
    this.#bytes = bytes
    this.#fixups = Int32Array.from(fixups)
    this.requiredLength = requiredLength
    this.an = counts.an
    this.ns = counts.ns
    this.arRequired = counts.arRequired
    this.arTotal = counts.arTotal
  }

  get length (): number { return this.#bytes.length }

  /** The body for a query name of wire length `qlen`, pointers filled in. Cached per length. */
  resolve (qlen: number): Buffer {
    const cached = this.#byQlen[qlen]
    if (cached !== undefined) return cached
    const out = Buffer.from(this.#bytes)
    const f = this.#fixups
    for (let i = 0; i < f.length; i += 3) {
      const kind = f[i + 1] as number
      const value = f[i + 2] as number
      out.writeUInt16BE(0xc000 | pointerOffset(kind, value, qlen), f[i] as number)
    }
    this.#byQlen[qlen] = out
    return out
  }
}

type Section = 'answer' | 'authority' | 'additional'

/** Builds a Template: records in section order, with name compression. Compile-time only. */
export class TemplateBuilder {
  #buf = Buffer.alloc(65535)
  #pos = 0
  readonly #fixups: number[] = []
  readonly #names = new Map<string, [number, number]>()
  #section: Section = 'answer'
  #counts = { an: 0, ns: 0, ar: 0 }
  #required: { length: number, ar: number } | undefined

  /** `seed`: a name the query name is known to be at or below. */
  constructor (seed: string) {
    const labels = seed === '' ? [] : seed.split('.')
    for (let i = 0; i <= labels.length; i++) {
      const suffix = labels.slice(i).join('.')
      this.#names.set(suffix, [KIND_SUFFIX, suffix === '' ? 1 : suffix.length + 2])
    }
  }

  get length (): number { return this.#pos }

  /** Where a name already in the message can be pointed at, as [kind, value] for pointerOffset(). */
  ref (owner: Owner): [number, number] | undefined {
    return owner === QNAME ? [KIND_QNAME, 0] : this.#names.get(owner)
  }

  section (s: Section): void {
    const order: Section[] = ['answer', 'authority', 'additional']
    if (order.indexOf(s) < order.indexOf(this.#section)) throw new Error(`section ${s} after ${this.#section}`)
    this.#section = s
  }

  /** Everything written after this call is optional additional data. */
  markRequiredEnd (): void {
    this.#required = { length: this.#pos, ar: this.#counts.ar }
  }

  rr (owner: Owner, type: number, ttl: number, writeRdata: (b: TemplateBuilder) => void): void {
    this.name(owner)
    this.u16(type)
    this.u16(1) // class IN
    this.u32(ttl)
    const lenAt = this.#pos
    this.u16(0)
    writeRdata(this)
    this.#buf.writeUInt16BE(this.#pos - lenAt - 2, lenAt)
    if (this.#section === 'answer') this.#counts.an++
    else if (this.#section === 'authority') this.#counts.ns++
    else this.#counts.ar++
  }

  /** Write a name, compressing against the query name and earlier names unless `compress` is false. */
  name (owner: Owner, compress = true): void {
    if (owner === QNAME) { this.#pointer(KIND_QNAME, 0); return }
    const labels = owner === '' ? [] : owner.split('.')
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.')
      const known = compress ? this.#names.get(suffix) : undefined
      if (known !== undefined) { this.#pointer(known[0], known[1]); return }
      if (this.#pos + MAX_BODY_START < 0x3fff && !this.#names.has(suffix)) this.#names.set(suffix, [KIND_BODY, this.#pos])
      const label = Buffer.from(labels[i] as string, 'latin1')
      this.u8(label.length)
      this.#write(label)
    }
    this.u8(0)
  }

  u8 (v: number): void { this.#ensure(1); this.#buf[this.#pos++] = v }
  u16 (v: number): void { this.#ensure(2); this.#buf.writeUInt16BE(v, this.#pos); this.#pos += 2 }
  u32 (v: number): void { this.#ensure(4); this.#buf.writeUInt32BE(v >>> 0, this.#pos); this.#pos += 4 }
  bytes (b: Uint8Array): void { this.#write(b) }
  characterString (s: string): void {
    const b = Buffer.from(s, 'latin1')
    this.u8(b.length)
    this.#write(b)
  }

  build (): Template {
    const bytes = Buffer.from(this.#buf.subarray(0, this.#pos))
    const req = this.#required ?? { length: this.#pos, ar: this.#counts.ar }
    return new Template(bytes, this.#fixups, req.length, {
      an: this.#counts.an, ns: this.#counts.ns, arRequired: req.ar, arTotal: this.#counts.ar,
    })
  }

  #pointer (kind: number, value: number): void {
    this.#fixups.push(this.#pos, kind, value)
    this.u16(0)
  }

  #write (b: Uint8Array): void {
    this.#ensure(b.length)
    this.#buf.set(b, this.#pos)
    this.#pos += b.length
  }

  #ensure (n: number): void {
    if (this.#pos + n > this.#buf.length) throw new RangeError('answer larger than 65535 bytes')
  }
}

/** Encode one configured record's RDATA. SRV targets are never compressed (RFC 2782). */
export function writeRdata (b: TemplateBuilder, r: Rdata): void {
  switch (r.type) {
    case 'A':
    case 'AAAA':
      b.bytes(ipToBytes(r.address))
      return
    case 'NS':
    case 'CNAME':
    case 'PTR':
      b.name(r.target)
      return
    case 'MX':
      b.u16(r.priority)
      b.name(r.host)
      return
    case 'TXT':
      for (const s of r.strings) b.characterString(s)
      return
    case 'SRV':
      b.u16(r.priority); b.u16(r.weight); b.u16(r.port)
      b.name(r.target, false)
      return
    case 'CAA': {
      b.u8(r.flags)
      b.characterString(r.tag)
      b.bytes(Buffer.from(r.value, 'utf8'))
      return
    }
    case 'SOA':
      b.name(r.primary); b.name(r.contact)
      b.u32(r.serial); b.u32(r.refresh); b.u32(r.retry); b.u32(r.expire); b.u32(r.minimum)
  }
}

export const RR_TYPE_CODE: Readonly<Record<Rdata['type'], number>> = {
  A: TYPE.A, AAAA: TYPE.AAAA, NS: TYPE.NS, CNAME: TYPE.CNAME, PTR: TYPE.PTR, MX: TYPE.MX,
  TXT: TYPE.TXT, SRV: TYPE.SRV, CAA: TYPE.CAA, SOA: TYPE.SOA,
}
