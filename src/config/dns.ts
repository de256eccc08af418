/**
 * Reads the `dns:` section: transport limits, response rate limiting, cookies and the server's
 * identity (README "Configuration reference", docs/security.md).
 */
import { dirname, resolve } from 'node:path'
import { ErrorCode } from '../errors.js'
import { parseCidr, type Cidr } from '../net/cidr.js'
import type { CookieOptions, DnsOptions, ListenAddress, RateLimitOptions } from './model.js'
import { allRead, type Source, type YNode } from './source.js'

const EXEMPT_DEFAULT = ['127.0.0.0/8', '::1/128'].map(t => parseCidr(t) as Cidr)

export const RATE_LIMIT_DEFAULTS: RateLimitOptions = {
  responsesPerSecond: 20,
  nxdomainsPerSecond: 20,
  errorsPerSecond: 20,
  windowMs: 15_000,
  slip: 2,
  logOnly: false,
  ipv4Prefix: 24,
  ipv6Prefix: 56,
  exempt: EXEMPT_DEFAULT,
  maxTableSize: 100_000,
}

export const COOKIE_DEFAULTS: CookieOptions = { enabled: true, secret: undefined, previousSecret: undefined, secretFile: undefined }

export const DNS_DEFAULTS: DnsOptions = {
  listen: [{ host: '127.0.0.1', port: 5300 }],
  udpPayloadSize: 1232,
  tcpIdleTimeoutMs: 10_000,
  tcpIoTimeoutMs: 2_000,
  maxTcpConnections: 1000,
  maxTcpPerClient: 100,
  queryLog: false,
  rateLimit: RATE_LIMIT_DEFAULTS,
  cookies: COOKIE_DEFAULTS,
  serverId: undefined,
}

export function readDnsOptions (src: Source, node: YNode, present: boolean, listen: ListenAddress[], file: string): DnsOptions | undefined {
  if (!present) return { ...DNS_DEFAULTS, listen }
  const f = src.map(node, 'dns', ['udp_payload_size', 'tcp_idle_timeout', 'tcp_io_timeout', 'max_tcp_connections', 'max_tcp_per_client', 'query_log', 'rate_limit', 'cookies', 'server_id'])
  if (f === undefined) return undefined
  const d = DNS_DEFAULTS
  // `server_id` is unset by default, so it is read apart from the fields allRead() checks.
  const serverId = f.opt('server_id', (n, p) => {
    const s = src.string(n, p)
    // One TXT string (≤ 255 octets), printable ASCII so that dig shows it as written.
    if (s !== undefined && !/^[\x21-\x7e][\x20-\x7e]{0,254}$/.test(s)) { src.error(n, p, ErrorCode.VALUE, `must be 1-255 printable ASCII characters: got "${s}"`); return undefined }
    return s
  }, d.serverId)
  const read = allRead<Omit<DnsOptions, 'serverId'>>({
    listen,
    udpPayloadSize: f.opt('udp_payload_size', (n, p) => src.integer(n, p, 512, 4096), d.udpPayloadSize),
    tcpIdleTimeoutMs: f.opt('tcp_idle_timeout', (n, p) => src.duration(n, p, 100, 3_600_000), d.tcpIdleTimeoutMs),
    tcpIoTimeoutMs: f.opt('tcp_io_timeout', (n, p) => src.duration(n, p, 50, 60_000), d.tcpIoTimeoutMs),
    maxTcpConnections: f.opt('max_tcp_connections', (n, p) => src.integer(n, p, 1, 1_000_000), d.maxTcpConnections),
    maxTcpPerClient: f.opt('max_tcp_per_client', (n, p) => src.integer(n, p, 1, 1_000_000), d.maxTcpPerClient),
    queryLog: f.opt('query_log', (n, p) => src.boolean(n, p), d.queryLog),
    rateLimit: f.opt('rate_limit', (n, p) => readRateLimit(src, n, p), d.rateLimit),
    cookies: f.opt('cookies', (n, p) => readCookies(src, n, p, file), d.cookies),
  })
  if (read === undefined || (f.has('server_id') && serverId === undefined)) return undefined
  return { ...read, serverId }
}

function readRateLimit (src: Source, node: YNode, path: string): RateLimitOptions | undefined {
  const f = src.map(node, path, ['responses_per_second', 'nxdomains_per_second', 'errors_per_second', 'window', 'slip', 'log_only', 'ipv4_prefix', 'ipv6_prefix', 'exempt', 'max_table_size'])
  if (f === undefined) return undefined
  const d = RATE_LIMIT_DEFAULTS
  const rate = (name: string, fallback: number | undefined): number | undefined => fallback === undefined ? undefined : f.opt(name, (n, p) => src.integer(n, p, 0, 1_000_000), fallback)
  const responses = rate('responses_per_second', d.responsesPerSecond)
  let exempt: Cidr[] | undefined = [...d.exempt]
  if (f.has('exempt')) {
    exempt = []
    for (const item of src.list(f.get('exempt'), f.at('exempt')) ?? []) {
      const text = src.string(item.node, item.path)
      if (text === undefined) { exempt = undefined; continue }
      const cidr = parseCidr(text)
      if (typeof cidr === 'string') { src.error(item.node, item.path, ErrorCode.ADDRESS, cidr); exempt = undefined; continue }
      exempt?.push(cidr)
    }
  }
  return allRead<RateLimitOptions>({
    responsesPerSecond: responses,
    nxdomainsPerSecond: rate('nxdomains_per_second', responses),
    errorsPerSecond: rate('errors_per_second', responses),
    windowMs: f.opt('window', (n, p) => src.duration(n, p, 1000, 3_600_000), d.windowMs),
    slip: f.opt('slip', (n, p) => src.integer(n, p, 0, 10), d.slip),
    logOnly: f.opt('log_only', (n, p) => src.boolean(n, p), d.logOnly),
    ipv4Prefix: f.opt('ipv4_prefix', (n, p) => src.integer(n, p, 8, 32), d.ipv4Prefix),
    ipv6Prefix: f.opt('ipv6_prefix', (n, p) => src.integer(n, p, 16, 128), d.ipv6Prefix),
    exempt,
    maxTableSize: f.opt('max_table_size', (n, p) => src.integer(n, p, 100, 10_000_000), d.maxTableSize),
  })
}

function readCookies (src: Source, node: YNode, path: string, file: string): CookieOptions | undefined {
  const f = src.map(node, path, ['enabled', 'secret', 'previous_secret', 'secret_file'])
  if (f === undefined) return undefined
  const secret = (name: string): Buffer | undefined => f.opt(name, (n, p) => {
    const s = src.string(n, p)
    if (s === undefined) return undefined
    const b = parseSecret(s)
    if (b === undefined) src.error(n, p, ErrorCode.VALUE, 'must be 32 hexadecimal digits (16 octets), e.g. from `openssl rand -hex 16`')
    return b
  }, undefined)
  const current = secret('secret')
  const previous = secret('previous_secret')
  if (f.has('previous_secret') && !f.has('secret')) src.error(f.get('previous_secret'), f.at('previous_secret'), ErrorCode.VALUE, 'needs dns.cookies.secret: the previous secret verifies cookies, the current one makes them')
  if (f.has('secret') && f.has('secret_file')) src.error(f.get('secret_file'), f.at('secret_file'), ErrorCode.VALUE, 'set either dns.cookies.secret or dns.cookies.secret_file, not both')
  const secretFile = f.opt('secret_file', (n, p) => src.string(n, p), undefined)
  const enabled = f.opt('enabled', (n, p) => src.boolean(n, p), true)
  if (enabled === undefined || (f.has('secret') && current === undefined) || (f.has('previous_secret') && previous === undefined) || (f.has('secret_file') && secretFile === undefined)) return undefined
  return { enabled, secret: current, previousSecret: previous, secretFile: secretFile === undefined ? undefined : resolve(dirname(file), secretFile) }
}

/** 32 hex digits → 16 octets; undefined for anything else. */
export function parseSecret (text: string): Buffer | undefined {
  const t = text.trim()
  return /^[0-9a-fA-F]{32}$/.test(t) ? Buffer.from(t, 'hex') : undefined
}
