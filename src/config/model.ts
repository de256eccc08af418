/**
 * The validated, linked configuration: plain immutable data, no YAML nodes. Everything downstream
 * (DNS compilation, the health core, the redirect service) reads these types only.
 */

export interface Located { readonly file: string, readonly line: number, readonly col: number }

export interface ListenAddress { readonly host: string, readonly port: number }

export interface DnsOptions {
  readonly listen: readonly ListenAddress[]
  /** EDNS payload size we advertise and the most we send over UDP. @default 1232 */
  readonly udpPayloadSize: number
  /** Close a TCP connection idle this long after its last answer. @default 10s */
  readonly tcpIdleTimeoutMs: number
  /** Close a TCP connection whose partial message has not completed within this time. @default 2s */
  readonly tcpIoTimeoutMs: number
  /** Open TCP connections per process; over the cap the oldest idle one is closed. @default 1000 */
  readonly maxTcpConnections: number
  /** Log every query at info. @default false */
  readonly queryLog: boolean
}

export type Rdata =
  | { readonly type: 'A' | 'AAAA', readonly address: string }
  | { readonly type: 'NS' | 'CNAME' | 'PTR', readonly target: string }
  | { readonly type: 'MX', readonly priority: number, readonly host: string }
  | { readonly type: 'TXT', readonly strings: readonly string[] }
  | { readonly type: 'SRV', readonly priority: number, readonly weight: number, readonly port: number, readonly target: string }
  | { readonly type: 'CAA', readonly flags: number, readonly tag: string, readonly value: string }
  | ({ readonly type: 'SOA' } & Soa)

export type RRType = Rdata['type']

export interface Soa {
  readonly primary: string
  readonly contact: string
  readonly serial: number
  readonly refresh: number
  readonly retry: number
  readonly expire: number
  readonly minimum: number
}

export interface RRsetConfig { readonly type: RRType, readonly ttl: number, readonly rdata: readonly Rdata[] }

export interface OwnerConfig extends Located {
  /** Absolute, lowercase, no trailing dot. */
  readonly name: string
  readonly rrsets: readonly RRsetConfig[]
}

export interface ZoneConfig extends Located {
  readonly name: string
  readonly ttl: number
  readonly soa: Soa
  readonly owners: readonly OwnerConfig[]
}

export interface GslbConfig {
  readonly file: string
  readonly dns: DnsOptions
  readonly zones: readonly ZoneConfig[]
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
}
