/** CIDR networks: parsed once (config, trusted proxies, geo `nets`), matched against addresses. */
import { isIP } from 'node:net'
import { bytesToIp, ipToBytes } from '../core/wire-bytes.js'
import { unmapIPv4 } from './address.js'

export interface Cidr {
  readonly family: 4 | 6
  /** The network address, 4 or 16 bytes. */
  readonly bytes: Buffer
  readonly bits: number
  /** As written, normalised: `198.51.100.0/24`. */
  readonly text: string
}

/**
 * `198.51.100.0/24`, `2001:db8::/32`, or a bare address (a /32 or /128). An IPv4-mapped IPv6
 * address counts as IPv4. Returns a message for anything else, host bits set included.
 */
export function parseCidr (text: string): Cidr | string {
  const slash = text.indexOf('/')
  let addr = slash === -1 ? text : text.slice(0, slash)
  const bitsText = slash === -1 ? undefined : text.slice(slash + 1)
  let mapped = false
  if (unmapIPv4(addr) !== addr) { addr = unmapIPv4(addr); mapped = true }
  const family = isIP(addr)
  if (family === 0 || addr.includes('%')) return `must be an IP address or a CIDR network such as 198.51.100.0/24: got "${text}"`
  const max = family === 4 ? 32 : 128
  let bits = bitsText === undefined ? max : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN
  if (mapped && bitsText !== undefined) bits -= 96
  if (!(bits >= 0 && bits <= max)) return `the prefix length must be 0 to ${max}: got "${text}"`
  const bytes = ipToBytes(addr)
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8))
    if (((bytes[i] as number) & (0xff >> keep)) !== 0) {
      return `host bits are set in "${text}"; the network is ${networkText(bytes, bits)}`
    }
  }
  return { family: family as 4 | 6, bytes, bits, text: networkText(bytes, bits) }
}

/** True when `address` (4 or 16 bytes, of the same family) lies in `net`. */
export function inCidr (address: Uint8Array, net: Cidr): boolean {
  if (address.length !== net.bytes.length) return false
  let bits = net.bits
  let i = 0
  for (; bits >= 8; i++, bits -= 8) if (address[i] !== net.bytes[i]) return false
  return bits === 0 || ((address[i] as number) >> (8 - bits)) === ((net.bytes[i] as number) >> (8 - bits))
}

/** `address/bits` with the address masked: the network a prefix of `bytes` names. */
export function networkText (bytes: Uint8Array, bits: number): string {
  const masked = Buffer.alloc(bytes.length)
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8))
    masked[i] = (bytes[i] as number) & ((0xff00 >> keep) & 0xff)
  }
  return `${bytesToIp(masked)}/${bits}`
}
