/**
 * Writes MaxMind DB files (format 2.0, https://maxmind.github.io/MaxMind-DB/): the demo database
 * in geo/ and the databases tests build. An IPv6 tree with IPv4 under ::/96 and the IPv4-mapped
 * alias ::ffff:0:0/96, as MaxMind's own City databases have, so any reader finds IPv4 and IPv6
 * networks alike. Records are de-duplicated in the data section.
 *
 * Values: strings, booleans, arrays, maps; numbers are written as uint16/uint32 when they are
 * whole and fit, else as doubles; `new Double(n)` forces a double (coordinates).
 */
import { isIPv4 } from 'node:net'
import { ipToBytes } from '../core/wire-bytes.js'

export class Double { constructor (readonly value: number) {} }
/** A uint32 even when the value would fit a uint16 (readers such as libmaxminddb check metadata types). */
export class Uint32 { constructor (readonly value: number) {} }

export type MmdbValue = string | number | boolean | Double | Uint32 | readonly MmdbValue[] | { readonly [key: string]: MmdbValue }

export interface MmdbNetwork {
  /** `127.0.1.0/24`, `2001:db8:1::/48`. */
  readonly network: string
  readonly data: MmdbValue
}

export interface MmdbOptions {
  readonly databaseType: string
  readonly description: string
  readonly languages?: readonly string[]
  /** Seconds since the epoch; fixed by callers that want a reproducible file. */
  readonly buildEpoch: number
}

type Rec = { kind: 'empty' } | { kind: 'node', node: TreeNode } | { kind: 'data', offset: number }
interface TreeNode { left: Rec, right: Rec, index: number }

const EMPTY: Rec = { kind: 'empty' }
const METADATA_MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com')])

export function writeMmdb (networks: readonly MmdbNetwork[], opts: MmdbOptions): Buffer {
  const data = new DataWriter()
  const root: TreeNode = { left: EMPTY, right: EMPTY, index: -1 }
  // Less specific networks first: a more specific one then splits them, and is never overwritten.
  const parsed = networks.map(n => {
    const [addr = '', bitsText = ''] = n.network.split('/')
    const v4 = isIPv4(addr)
    const bits = Number(bitsText)
    if (!(Number.isInteger(bits) && bits >= 0 && bits <= (v4 ? 32 : 128))) throw new RangeError(`bad network ${n.network}`)
    return { bytes: v4 ? Buffer.concat([Buffer.alloc(12), ipToBytes(addr)]) : ipToBytes(addr), bits: v4 ? 96 + bits : bits, data: n.data }
  }).sort((a, b) => a.bits - b.bits)
  for (const n of parsed) insert(root, n.bytes, n.bits, { kind: 'data', offset: data.add(n.data) })
  aliasMappedIpv4(root)

  // Number the nodes breadth first: the root is 0.
  // A node reached twice (the IPv4 subtree, through the alias) is numbered once.
  const nodes: TreeNode[] = [root]
  root.index = 0
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i] as TreeNode
    for (const r of [n.left, n.right]) {
      if (r.kind !== 'node' || r.node.index !== -1) continue
      r.node.index = nodes.length
      nodes.push(r.node)
    }
  }
  const nodeCount = nodes.length
  const dataSection = data.buffer()
  const maxValue = nodeCount + 16 + dataSection.length
  const recordSize = maxValue < 2 ** 24 ? 24 : maxValue < 2 ** 28 ? 28 : 32
  const value = (r: Rec): number => r.kind === 'empty' ? nodeCount : r.kind === 'node' ? r.node.index : nodeCount + 16 + r.offset
  const nodeBytes = recordSize * 2 / 8
  const tree = Buffer.alloc(nodeCount * nodeBytes)
  for (const n of nodes) writeNode(tree, n.index * nodeBytes, recordSize, value(n.left), value(n.right))

  const meta = new DataWriter()
  const metaOffset = meta.add({
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: new Uint64(opts.buildEpoch),
    database_type: opts.databaseType,
    description: { en: opts.description },
    ip_version: 6,
    languages: [...(opts.languages ?? ['en'])],
    node_count: new Uint32(nodeCount),
    record_size: recordSize,
  } as unknown as MmdbValue)
  if (metaOffset !== 0) throw new Error('metadata must start its section')
  return Buffer.concat([tree, Buffer.alloc(16), dataSection, METADATA_MARKER, meta.buffer()])
}

function insert (root: TreeNode, bytes: Buffer, bits: number, rec: Rec): void {
  if (bits === 0) { root.left = rec; root.right = rec; return } // ::/0: every address
  let node = root
  for (let i = 0; i < bits; i++) {
    const right = bitAt(bytes, i) === 1
    if (i === bits - 1) {
      if (right) node.right = rec
      else node.left = rec
      return
    }
    const cur = right ? node.right : node.left
    if (cur.kind === 'node') { node = cur.node; continue }
    // A less specific network already here: its data carries on in both halves below.
    const child: TreeNode = { left: cur, right: cur, index: -1 }
    if (right) node.right = { kind: 'node', node: child }
    else node.left = { kind: 'node', node: child }
    node = child
  }
}

/** ::ffff:0:0/96 leads to the IPv4 subtree (the node at ::/96), as in MaxMind's databases. */
function aliasMappedIpv4 (root: TreeNode): void {
  let v4 = root
  for (let i = 0; i < 96; i++) {
    const next = v4.left
    if (next.kind !== 'node') return // no IPv4 networks
    v4 = next.node
  }
  const mapped = Buffer.alloc(16)
  mapped.writeUInt16BE(0xffff, 10)
  insert(root, mapped, 96, { kind: 'node', node: v4 })
}

function writeNode (out: Buffer, at: number, size: number, left: number, right: number): void {
  if (size === 24) {
    out.writeUIntBE(left, at, 3)
    out.writeUIntBE(right, at + 3, 3)
  } else if (size === 28) {
    out.writeUIntBE(left & 0xffffff, at, 3)
    out[at + 3] = ((left >>> 24) & 0x0f) << 4 | ((right >>> 24) & 0x0f)
    out.writeUIntBE(right & 0xffffff, at + 4, 3)
  } else {
    out.writeUInt32BE(left, at)
    out.writeUInt32BE(right, at + 4)
  }
}

function bitAt (bytes: Uint8Array, i: number): number {
  return ((bytes[i >> 3] as number) >> (7 - (i & 7))) & 1
}

class Uint64 { constructor (readonly value: number) {} }

/** The data section: values appended once each, the same value written again as a pointer. */
class DataWriter {
  readonly #parts: Buffer[] = []
  #length = 0
  readonly #seen = new Map<string, number>()

  /** The offset of `v` in the section. */
  add (v: MmdbValue): number {
    const key = typedKey(v)
    const known = this.#seen.get(key)
    if (known !== undefined) return known
    const at = this.#length
    this.#write(v)
    this.#seen.set(key, at)
    return at
  }

  buffer (): Buffer { return Buffer.concat(this.#parts) }

  #push (b: Buffer): void { this.#parts.push(b); this.#length += b.length }

  #write (v: MmdbValue | Uint64): void {
    if (typeof v === 'string') {
      const b = Buffer.from(v, 'utf8')
      this.#push(control(2, b.length))
      this.#push(b)
    } else if (typeof v === 'boolean') {
      this.#push(control(14, v ? 1 : 0))
    } else if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 32) {
      const type = v < 65536 ? 5 : 6
      const b = uintBytes(v)
      this.#push(control(type, b.length))
      this.#push(b)
    } else if (typeof v === 'number' || v instanceof Double) {
      const b = Buffer.alloc(8)
      b.writeDoubleBE(typeof v === 'number' ? v : v.value)
      this.#push(control(3, 8))
      this.#push(b)
    } else if (v instanceof Uint32) {
      const b = uintBytes(v.value)
      this.#push(control(6, b.length))
      this.#push(b)
    } else if (v instanceof Uint64) {
      const b = uintBytes(v.value)
      this.#push(control(9, b.length))
      this.#push(b)
    } else if (Array.isArray(v)) {
      this.#push(control(11, v.length))
      for (const item of v as readonly MmdbValue[]) this.#value(item)
    } else {
      const entries = Object.entries(v as Record<string, MmdbValue>)
      this.#push(control(7, entries.length))
      for (const [k, item] of entries) {
        this.#value(k)
        this.#value(item)
      }
    }
  }

  /** A value inside a map or array: a pointer when written before (strings and maps repeat a lot). */
  #value (v: MmdbValue): void {
    const key = typedKey(v)
    const known = this.#seen.get(key)
    if (known !== undefined) { this.#push(pointer(known)); return }
    const at = this.#length
    this.#write(v)
    this.#seen.set(key, at)
  }
}

/** Values equal only with the same types share a key (a double 35 is not a uint16 35). */
function typedKey (v: MmdbValue | Uint64): string {
  return JSON.stringify(v, (_k, x: unknown) => x instanceof Double ? { $d: x.value } : x instanceof Uint32 ? { $u32: x.value } : x instanceof Uint64 ? { $u64: x.value } : x)
}

function uintBytes (v: number): Buffer {
  if (v === 0) return Buffer.alloc(0)
  const n = Math.ceil(Math.log2(v + 1) / 8)
  const b = Buffer.alloc(n)
  b.writeUIntBE(v, 0, n)
  return b
}

/** A control byte (and extended type byte, and size bytes) for `type` and `size`. */
function control (type: number, size: number): Buffer {
  const head: number[] = []
  let sizeBits: number
  const extra: number[] = []
  if (size < 29) sizeBits = size
  else if (size < 285) { sizeBits = 29; extra.push(size - 29) } else if (size < 65821) { sizeBits = 30; extra.push((size - 285) >> 8, (size - 285) & 0xff) } else {
    sizeBits = 31
    const s = size - 65821
    extra.push((s >> 16) & 0xff, (s >> 8) & 0xff, s & 0xff)
  }
  if (type <= 7) head.push((type << 5) | sizeBits)
  else head.push(sizeBits, type - 7)
  return Buffer.from([...head, ...extra])
}

function pointer (offset: number): Buffer {
  if (offset < 2048) return Buffer.from([0x20 | (offset >> 8), offset & 0xff])
  if (offset < 526336) { const o = offset - 2048; return Buffer.from([0x28 | (o >> 16), (o >> 8) & 0xff, o & 0xff]) }
  if (offset < 134744064) { const o = offset - 526336; return Buffer.from([0x30 | (o >> 24), (o >> 16) & 0xff, (o >> 8) & 0xff, o & 0xff]) }
  const b = Buffer.alloc(5)
  b[0] = 0x38
  b.writeUInt32BE(offset, 1)
  return b
}
