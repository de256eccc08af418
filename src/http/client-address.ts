/**
 * Who the client is and which scheme it used. X-Forwarded-For and X-Forwarded-Proto are believed
 * only from peers in `http.trusted_proxies`; the chain is walked from the right, skipping trusted
 * proxies, so a client cannot choose its own address by sending the header itself.
 */
import { isIP } from 'node:net'
import { ipToBytes } from '../core/wire-bytes.js'

export interface Cidr { readonly bytes: Buffer, readonly bits: number }

export function parseCidrs (list: readonly string[]): Cidr[] {
  return list.map(c => {
    const [addr = '', bits = ''] = c.split('/')
    return { bytes: ipToBytes(addr), bits: Number(bits) }
  })
}

function normalise (ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip
}

export function inCidrs (ip: string, cidrs: readonly Cidr[]): boolean {
  if (cidrs.length === 0 || isIP(ip) === 0) return false
  const b = ipToBytes(ip)
  for (const c of cidrs) {
    if (c.bytes.length !== b.length) continue
    let bits = c.bits
    let i = 0
    for (; bits >= 8; i++, bits -= 8) if (b[i] !== c.bytes[i]) break
    if (bits >= 8) continue
    if (bits === 0 || ((b[i] as number) >> (8 - bits)) === ((c.bytes[i] as number) >> (8 - bits))) return true
  }
  return false
}

export function clientOf (peer: string | undefined, xff: string | string[] | undefined, proto: string | string[] | undefined,
  trusted: readonly Cidr[]): { address: string, https: boolean } {
  let address = normalise(peer ?? '')
  if (trusted.length === 0 || !inCidrs(address, trusted)) return { address, https: false }
  const https = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase() === 'https'
  const hops = (Array.isArray(xff) ? xff.join(',') : xff ?? '').split(',').map(s => normalise(s.trim())).filter(s => s !== '')
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string
    if (isIP(hop) === 0) break
    address = hop
    if (!inCidrs(hop, trusted)) break
  }
  return { address, https }
}
