/**
 * The client a decision is for, as a front end saw it: an address (possibly only a prefix of it,
 * for an EDNS Client Subnet), and where it came from. Built only for pools whose answer depends on
 * the client (geo, nearest, hash). Derived keys are computed once and kept.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { bytesToIp, ipToBytes } from './wire-bytes.js'
import { fnv1aBytes } from './select.js'

/** Where the address came from: the ECS option, a trusted proxy's header, or the connection's peer. */
export type ClientSource = 'ecs' | 'forwarded' | 'peer'

/** Hashing and RRL-style granularity: a client network is an IPv4 /24 or an IPv6 /56. */
export const HASH_BITS = { 4: 24, 6: 56 } as const

export class ClientAddress {
  readonly family: 4 | 6
  /** 4 or 16 bytes; bits past `bits` are zero. */
  readonly bytes: Buffer
  /** How many leading bits are known: the ECS source prefix length, else 32 or 128. */
  readonly bits: number
  readonly source: ClientSource
  #text: string | undefined
  #lookupKey: string | undefined
  #hash: number | undefined

  constructor (family: 4 | 6, bytes: Buffer, bits: number, source: ClientSource) {
    this.family = family
    this.bytes = bytes
    this.bits = bits
    this.source = source
  }

  /** From an address as text (IPv4-mapped IPv6 counts as IPv4); undefined when it is not one. */
  static fromText (text: string, source: ClientSource): ClientAddress | undefined {
    const t = text.startsWith('::ffff:') && isIPv4(text.slice(7)) ? text.slice(7) : text
    if (isIPv4(t)) return new ClientAddress(4, ipToBytes(t), 32, source)
    if (isIPv6(t) && !t.includes('%')) return new ClientAddress(6, ipToBytes(t), 128, source)
    return undefined
  }

  /** From an ECS option: family 1 or 2, the source prefix length and its address bytes (already masked). */
  static fromEcs (ecsFamily: number, sourceBits: number, address: Uint8Array): ClientAddress {
    const family = ecsFamily === 1 ? 4 : 6
    const bytes = Buffer.alloc(family === 4 ? 4 : 16)
    bytes.set(address.subarray(0, bytes.length))
    return new ClientAddress(family, bytes, sourceBits, 'ecs')
  }

  /** The address (for a prefix, its network address). */
  get text (): string { return this.#text ??= bytesToIp(this.bytes) }

  /** `address/bits` when only a prefix is known, else the address. */
  get display (): string {
    return this.bits === this.bytes.length * 8 ? this.text : `${this.text}/${this.bits}`
  }

  /** The known bits as a string key: two clients with the same key get the same geo answer. */
  get lookupKey (): string {
    return this.#lookupKey ??= `${this.family}${this.bits}:${this.bytes.toString('latin1', 0, Math.ceil(this.bits / 8))}`
  }

  /** The hash policy's key: the client's /24 or /56 (or the shorter ECS prefix). */
  get subnetHash (): number {
    if (this.#hash !== undefined) return this.#hash
    const bits = Math.min(this.bits, HASH_BITS[this.family])
    const n = Math.ceil(bits / 8)
    let h = fnv1aBytes(this.bytes, n)
    if (bits % 8 !== 0) {
      // A prefix ending inside a byte: hash the masked byte instead of the raw one.
      const masked = Buffer.from(this.bytes.subarray(0, n))
      masked[n - 1] = (masked[n - 1] as number) & (0xff << (8 - bits % 8))
      h = fnv1aBytes(masked, n)
    }
    return (this.#hash = (h ^ this.family) >>> 0)
  }

  /** The ECS scope a hash decision needs: the hashed prefix, at most what the client sent. */
  get hashScope (): number { return Math.min(this.bits, HASH_BITS[this.family]) }
}
