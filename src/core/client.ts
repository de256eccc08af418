/**
 * The client a decision is for, as a front end saw it: an address (possibly only a prefix of it,
 * for an EDNS Client Subnet), and where it came from. Built only for pools whose answer depends on
 * the client (geo, nearest, hash), once per query: an IPv4 client is a number until something asks
 * for its bytes or text, so the common case (an ECS /24 whose placement is cached) allocates one
 * small object. Derived keys are computed once and kept.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { unmapIPv4 } from '../net/address.js'
import { bytesToIp, ipToBytes, isMappedPrefix } from './wire-bytes.js'

/** Where the address came from: the ECS option, a trusted proxy's header, or the connection's peer. */
export type ClientSource = 'ecs' | 'forwarded' | 'peer'

/** Hashing and RRL-style granularity: a client network is an IPv4 /24 or an IPv6 /56. */
export const HASH_BITS = { 4: 24, 6: 56 } as const

const TWO_32 = 4294967296

export class ClientAddress {
  readonly family: 4 | 6
  /** How many leading bits are known: the ECS source prefix length, else 32 or 128. */
  readonly bits: number
  readonly source: ClientSource
  /**
   * 96 for an IPv4-mapped IPv6 ECS subnet (::ffff:a.b.c.d/120 is the IPv4 client a.b.c.d/24): what to add
   * back to a scope computed on the IPv4 address before it goes out in the option. Else 0.
   */
  readonly scopeOffset: number
  /** IPv4: the address (bits past `bits` zero) as an unsigned 32-bit number. */
  readonly #v4: number
  #bytes: Buffer | undefined
  #text: string | undefined
  #lookupKey: number | string | undefined
  #hash: number | undefined

  private constructor (family: 4 | 6, bits: number, source: ClientSource, v4: number, bytes: Buffer | undefined, scopeOffset = 0) {
    this.family = family
    this.bits = bits
    this.source = source
    this.scopeOffset = scopeOffset
    this.#v4 = v4
    this.#bytes = bytes
  }

  /** From an address as text (IPv4-mapped IPv6 counts as IPv4); undefined when it is not one. */
  static fromText (text: string, source: ClientSource): ClientAddress | undefined {
    const t = unmapIPv4(text)
    if (isIPv4(t)) {
      const b = ipToBytes(t)
      return new ClientAddress(4, 32, source, b.readUInt32BE(0), b)
    }
    if (isIPv6(t) && !t.includes('%')) return new ClientAddress(6, 128, source, 0, ipToBytes(t))
    return undefined
  }

  /**
   * From an ECS option: family 1 or 2, the source prefix length, and its address bytes at
   * `at` in `msg` (ceil(bits / 8) of them, already checked to be masked by the parser).
   */
  static fromEcs (ecsFamily: number, sourceBits: number, msg: Uint8Array, at = 0): ClientAddress {
    const n = Math.ceil(sourceBits / 8)
    if (ecsFamily === 1) {
      let v = 0
      for (let i = 0; i < 4; i++) v = v * 256 + (i < n ? msg[at + i] as number : 0)
      return new ClientAddress(4, sourceBits, 'ecs', v, undefined)
    }
    const bytes = Buffer.alloc(16)
    for (let i = 0; i < n && i < 16; i++) bytes[i] = msg[at + i] as number
    if (sourceBits >= 96 && isMappedPrefix(bytes)) {
      // ::ffff:0:0/96: an IPv4 client, placed and hashed as one.
      return new ClientAddress(4, sourceBits - 96, 'ecs', bytes.readUInt32BE(12), undefined, 96)
    }
    return new ClientAddress(6, sourceBits, 'ecs', 0, bytes)
  }

  /** 4 or 16 bytes; bits past `bits` are zero. */
  get bytes (): Buffer {
    if (this.#bytes === undefined) {
      this.#bytes = Buffer.alloc(4)
      this.#bytes.writeUInt32BE(this.#v4, 0)
    }
    return this.#bytes
  }

  /** The address (for a prefix, its network address). */
  get text (): string { return this.#text ??= bytesToIp(this.bytes) }

  /** `address/bits` when only a prefix is known, else the address. */
  get display (): string {
    return this.bits === (this.family === 4 ? 32 : 128) ? this.text : `${this.text}/${this.bits}`
  }

  /** The known bits as a key: two clients with the same key get the same geo answer. A number for IPv4. */
  get lookupKey (): number | string {
    if (this.#lookupKey !== undefined) return this.#lookupKey
    return (this.#lookupKey = this.family === 4
      ? this.bits * TWO_32 + this.#v4
      : `${this.bits}:${this.bytes.toString('latin1', 0, Math.ceil(this.bits / 8))}`)
  }

  /** The hash policy's key: the client's /24 or /56 (or the shorter ECS prefix), FNV-1a over its bytes. */
  get subnetHash (): number {
    if (this.#hash !== undefined) return this.#hash
    const bits = Math.min(this.bits, HASH_BITS[this.family])
    const n = Math.ceil(bits / 8)
    let h = 0x811c9dc5
    for (let i = 0; i < n; i++) {
      let b = this.family === 4 ? (this.#v4 >>> (24 - 8 * i)) & 0xff : this.bytes[i] as number
      if (i === n - 1 && bits % 8 !== 0) b &= 0xff << (8 - bits % 8) // a prefix ending inside a byte
      h ^= b
      h = Math.imul(h, 0x01000193)
    }
    return (this.#hash = (h ^ this.family) >>> 0)
  }

  /** The ECS scope a hash decision needs: the hashed prefix, at most what the client sent. */
  get hashScope (): number { return Math.min(this.bits, HASH_BITS[this.family]) }
}
