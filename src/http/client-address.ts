/**
 * Who the client is and which scheme it used. Headers are believed only from a peer in
 * `http.trusted_proxies`, and only the one `http.client_header` names: X-Forwarded-For (with
 * X-Forwarded-Proto) or RFC 7239 Forwarded; never the other, which a proxy that does not write it
 * passes through from the client. The chain is walked from the right, skipping trusted proxies, so
 * a client cannot choose its own address by sending the header itself. An obfuscated or unknown
 * `for=` (`_hidden`, `unknown`) ends the walk: the address is then the last proxy's.
 */
import { isIP } from 'node:net'
import { unmapIPv4 } from '../net/address.js'
import { inCidr, parseCidr, type Cidr } from '../net/cidr.js'
import { ipToBytes } from '../core/wire-bytes.js'

export type { Cidr }

export interface HttpClient {
  readonly address: string
  readonly https: boolean
  /** Where the address came from: the connection, or a trusted proxy's header. */
  readonly source: 'peer' | 'forwarded'
}

export function parseCidrs (list: readonly string[]): Cidr[] {
  return list.map(c => parseCidr(c)).filter((c): c is Cidr => typeof c !== 'string')
}

const normalise = unmapIPv4

export function inCidrs (ip: string, cidrs: readonly Cidr[]): boolean {
  if (cidrs.length === 0 || isIP(ip) === 0) return false
  const b = ipToBytes(ip)
  for (const c of cidrs) if (inCidr(b, c)) return true
  return false
}

export function clientOf (peer: string | undefined, xff: string | undefined, proto: string | undefined, forwarded: string | undefined,
  trusted: readonly Cidr[], header: 'x-forwarded-for' | 'forwarded' = 'x-forwarded-for'): HttpClient {
  const address = normalise(peer ?? '')
  if (trusted.length === 0 || !inCidrs(address, trusted)) return { address, https: false, source: 'peer' }
  if (header === 'forwarded') return forwarded === undefined ? { address, https: false, source: 'peer' } : fromForwarded(address, forwarded, trusted)
  const hops = (xff ?? '').split(',').map(s => normalise(s.trim())).filter(s => s !== '')
  const { address: client, source, index } = walk(address, hops, trusted)
  // The scheme the client used: the X-Forwarded-Proto entry beside its address when proxies append
  // both, else the last one (written by the nearest proxy); never a client-supplied leftmost one.
  const protos = (proto ?? '').split(',').map(p => p.trim().toLowerCase()).filter(p => p !== '')
  const scheme = protos.length === hops.length && source === 'forwarded' ? protos[index] : protos[protos.length - 1]
  return { address: client, source, https: scheme === 'https' }
}

/** From the right: each hop replaces the address until one is not a trusted proxy (or not an address). */
function walk (peer: string, hops: readonly string[], trusted: readonly Cidr[]): { address: string, source: 'peer' | 'forwarded', index: number } {
  let address = peer
  let source: 'peer' | 'forwarded' = 'peer'
  let index = hops.length
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string
    if (isIP(hop) === 0) break
    address = hop
    source = 'forwarded'
    index = i
    if (!inCidrs(hop, trusted)) break
  }
  return { address, source, index }
}

/** RFC 7239: `Forwarded: for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"`. */
function fromForwarded (peer: string, header: string, trusted: readonly Cidr[]): HttpClient {
  const elements = splitOutsideQuotes(header, ',').map(parseElement)
  const hops = elements.map(e => e.for ?? '')
  const { address, source, index } = walk(peer, hops, trusted)
  // The scheme the client used is the one its proxy reported: the element the address came from.
  const from = elements[source === 'forwarded' ? index : elements.length - 1]
  return { address, https: from?.proto?.toLowerCase() === 'https', source }
}

/** One element's `for` (as an address, or '' for an obfuscated or unknown one) and `proto`. */
function parseElement (text: string): { for?: string, proto?: string } {
  const out: { for?: string, proto?: string } = {}
  for (const pair of splitOutsideQuotes(text, ';')) {
    const eq = pair.indexOf('=')
    if (eq === -1) continue
    const name = pair.slice(0, eq).trim().toLowerCase()
    let value = pair.slice(eq + 1).trim()
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1).replace(/\\(.)/g, '$1')
    if (name === 'proto') out.proto = value
    else if (name === 'for') out.for = nodeAddress(value)
  }
  return out
}

/** The IP address of a node name (`192.0.2.43`, `192.0.2.43:47011`, `[2001:db8::1]:4711`); '' when obfuscated or unknown. */
function nodeAddress (node: string): string {
  if (node.startsWith('[')) {
    const end = node.indexOf(']')
    const ip = end === -1 ? '' : node.slice(1, end)
    return isIP(ip) === 6 ? normalise(ip.toLowerCase()) : ''
  }
  const colon = node.indexOf(':')
  const ip = colon === -1 ? node : node.slice(0, colon)
  return isIP(ip) === 4 ? ip : ''
}

function splitOutsideQuotes (text: string, sep: string): string[] {
  const out: string[] = []
  let start = 0
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '\\' && quoted) { i++; continue }
    if (c === '"') quoted = !quoted
    else if (c === sep && !quoted) { out.push(text.slice(start, i)); start = i + 1 }
  }
  out.push(text.slice(start))
  return out.map(s => s.trim()).filter(s => s !== '')
}
