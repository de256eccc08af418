/** Address and name bytes as they appear in record data, computed once per snapshot. */
import { isIPv4, isIPv6 } from 'node:net'

export function ipToBytes (text: string): Buffer {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number))
  if (!isIPv6(text)) throw new TypeError(`not an IP address: ${text}`)
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hex groups first.
  const t = text.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`)
  const [head = '', rest] = t.split('::')
  const parse = (s: string): number[] => s === '' ? [] : s.split(':').map(h => parseInt(h, 16))
  const h = parse(head)
  const r = rest === undefined ? [] : parse(rest)
  const groups = rest === undefined ? h : [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r]
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2))
  return out
}

let lastText = ''
let lastBytes: Buffer | undefined

/**
 * A client's address as it is matched and hashed: 4 octets for IPv4 (IPv4-mapped IPv6 included),
 * 16 for IPv6, undefined for anything else. The last answer is kept: the rate limiter and the
 * cookie check of one query ask for the same address. Callers must not modify what it returns.
 */
export function addressBytes (text: string): Buffer | undefined {
  if (text === lastText) return lastBytes
  let out: Buffer | undefined
  if (isIPv4(text)) {
    out = Buffer.allocUnsafe(4)
    let octet = 0; let n = 0
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c === 46) { out[n++] = octet; octet = 0 } else octet = octet * 10 + c - 48
    }
    out[n] = octet
  } else if (isIPv6(text)) {
    out = ipToBytes(text)
    if (isMappedPrefix(out)) out = out.subarray(12)
  }
  lastText = text
  lastBytes = out
  return out
}

/** The first 96 bits of `::ffff:0:0/96`, the IPv4-mapped IPv6 prefix. */
export function isMappedPrefix (b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false
  return b[10] === 0xff && b[11] === 0xff
}

export function bytesToIp (b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push((((b[i] as number) << 8) | (b[i + 1] as number)).toString(16))
  // Compress the longest run of zero groups, as RFC 5952 asks.
  let best = -1; let bestLen = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue }
    let j = i
    while (j < 8 && groups[j] === '0') j++
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i }
    i = j
  }
  if (best === -1) return groups.join(':')
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`
}

/** Uncompressed wire form of a name (lowercase labels, root byte). */
export function nameWire (name: string): Buffer {
  const parts: Buffer[] = []
  for (const label of name === '' ? [] : name.split('.')) parts.push(Buffer.from([label.length]), Buffer.from(label, 'latin1'))
  parts.push(Buffer.from([0]))
  return Buffer.concat(parts)
}
