/**
 * The validated, linked configuration: plain immutable data, no YAML nodes. Everything downstream
 * (DNS compilation, the health core, the redirect service) reads these types only.
 */

import type { Cidr } from '../net/cidr.js'

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
  /** Open TCP connections per process; at the cap one is closed to make room (dns/tcp-table.ts). @default 1000 */
  readonly maxTcpConnections: number
  /** Open TCP connections per client network (IPv4 /24, IPv6 /56) per process. @default 100 */
  readonly maxTcpPerClient: number
  /** Log every query at info. @default false */
  readonly queryLog: boolean
  /** Response rate limiting over UDP (dns/rrl.ts, docs/security.md). */
  readonly rateLimit: RateLimitOptions
  /** DNS cookies (RFC 7873, 9018; dns/cookies.ts). */
  readonly cookies: CookieOptions
  /** This server's name in NSID (RFC 5001) and CH TXT id.server / hostname.bind; unset: not told. @default unset */
  readonly serverId: string | undefined
}

export interface RateLimitOptions {
  /** Answers (and NODATA, referrals) per second to one client network for one name and type; 0 turns limiting off. @default 20 */
  readonly responsesPerSecond: number
  /** NXDOMAIN per second to one client network for one zone. @default responsesPerSecond */
  readonly nxdomainsPerSecond: number
  /** Errors (REFUSED, FORMERR, SERVFAIL...) per second to one client network. @default responsesPerSecond */
  readonly errorsPerSecond: number
  /** A limited network is logged when limiting starts, and again with its count once it has kept under its rate this long. @default 15s */
  readonly windowMs: number
  /** Every Nth limited response is sent truncated (TC=1) instead of dropped; 0 drops all. @default 2 */
  readonly slip: number
  /** Count and log what would be limited, and send everything. @default false */
  readonly logOnly: boolean
  /** Client networks: IPv4 prefix length. @default 24 */
  readonly ipv4Prefix: number
  /** Client networks: IPv6 prefix length. @default 56 */
  readonly ipv6Prefix: number
  /** Networks never limited. @default [127.0.0.0/8, ::1/128] */
  readonly exempt: readonly Cidr[]
  /** Entries kept per process (least recently used evicted). @default 100000 */
  readonly maxTableSize: number
}

export interface CookieOptions {
  /** Answer cookies at all. @default true */
  readonly enabled: boolean
  /** The 16-byte secret server cookies are made with (from `secret` or the secret file). */
  readonly secret: Buffer | undefined
  /** A former secret whose cookies still verify (after a rotation). */
  readonly previousSecret: Buffer | undefined
  /**
   * Where the secret is kept when `secret` is not set: read, or created on first start (one hex
   * line, a second line for the previous secret). @default cookie-secret beside health.state_file
   */
  readonly secretFile: string | undefined
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
  /** A/AAAA (or CNAME) answers come from this pool's decision. */
  readonly pool: string | undefined
}

export interface ZoneConfig extends Located {
  readonly name: string
  readonly ttl: number
  readonly soa: Soa
  readonly owners: readonly OwnerConfig[]
}

export type RedirectStatus = 301 | 302 | 303 | 307 | 308

export interface RouteConfig extends Located {
  /** Lowercase host names; "*.example.test" matches any name below example.test. */
  readonly hosts: readonly string[]
  /** Path prefix, starting and ending with "/" (or exactly "/"). */
  readonly path: string
  readonly pool: string
  readonly status: RedirectStatus
  readonly keepQuery: boolean
  readonly cacheControl: string | undefined
  /** Link: rel=duplicate alternates after the chosen member. @default 3 */
  readonly alternates: number
  /** What the hash policy hashes: the client address or the request path. @default client */
  readonly affinity: 'client' | 'path'
  /** IPv6 clients only get members whose URL has IPv6. @default false */
  readonly matchFamily: boolean
  /** https requests may be sent to http members. @default false */
  readonly allowDowngrade: boolean
  /** Where to send clients when no member can take them; else 503. */
  readonly fallbackUrl: string | undefined
  readonly retryAfterSec: number
  /** X-GSLB-Pool and X-GSLB-Member response headers. @default false */
  readonly debugHeaders: boolean
}

export interface HttpOptions {
  /** Peers whose client_header is believed. @default none */
  readonly trustedProxies: readonly string[]
  /**
   * The one header trusted proxies write: X-Forwarded-For (with X-Forwarded-Proto), or RFC 7239
   * Forwarded. Only that one is read: a proxy that appends to one passes the other through from
   * the client unchanged. @default x-forwarded-for
   */
  readonly clientHeader: 'x-forwarded-for' | 'forwarded'
  /** Log every request at info. @default false */
  readonly requestLog: boolean
}

/** Geo lookups (docs/geo.md). */
export interface GeoOptions {
  /** A MaxMind DB file (City or Country format), as written in gslb.yaml; undefined: no database. */
  readonly database: string | undefined
  /** The same, resolved against the directory of gslb.yaml. */
  readonly databasePath: string | undefined
  /** Place DNS clients by the EDNS Client Subnet option (RFC 7871) when a query has one. @default true */
  readonly ecs: boolean
}

/** How the process stops on SIGTERM/SIGINT (docs/health.md, "Stopping"). */
export interface ShutdownOptions {
  /** The bound: connections still open this long after the stop began are closed, and the process exits. @default 15s */
  readonly timeoutMs: number
  /** Open HTTP keep-alive connections may send one more request this long (answered with Connection: close) before idle ones are closed. @default 1s */
  readonly keepaliveGraceMs: number
  /**
   * Before listeners close, this long with GET /v1/ready answering 503 while everything else is
   * served as usual, so a load balancer or orchestrator polling readiness stops sending first. @default 0s
   */
  readonly readyDelayMs: number
}

/** The admin API's access (docs/operations.md). */
export interface AdminOptions {
  /** A file holding the bearer token, relative to gslb.yaml; GSLB_ADMIN_TOKEN wins over it. */
  readonly tokenFile: string | undefined
}

/** Prometheus metrics on the admin listener (docs/metrics.md). */
/** Several gslb nodes sharing admin state and health views on Redis (docs/cluster.md). */
export interface ClusterOptions {
  /** This node's name, unique in the cluster. @default the host name */
  readonly node: string
  /** redis:// or rediss:// (TLS), with the password in it or from password_file / GSLB_REDIS_PASSWORD. */
  readonly redisUrl: string
  /** Absolute path of a file holding the Redis password. */
  readonly passwordFile: string | undefined
  /** Absolute path of a CA bundle for rediss://. */
  readonly tlsCa: string | undefined
  /** Prefix of every key and channel (several clusters on one Redis). @default "gslb:" */
  readonly prefix: string
  /** How health views combine. @default majority */
  readonly quorum: 'majority' | 'any' | 'all'
  /** Fresh views needed for the quorum; with fewer, a node goes by its own checks. @default 1 */
  readonly minNodes: number
  /** How often a node says it is alive and reads the others. @default 1s */
  readonly heartbeatMs: number
  /** A node not heard from this long stops counting. @default 5s */
  readonly staleAfterMs: number
}

export interface MetricsOptions {
  /** Count per query and serve GET /metrics. @default true */
  readonly enabled: boolean
}

export interface GslbConfig {
  readonly file: string
  /** The first 12 hex digits of a SHA-256 over gslb.yaml and every zone file: which configuration is serving. */
  readonly version: string
  /** The zone directory as written (`zones`), relative to gslb.yaml. */
  readonly zonesDir: string
  readonly dns: DnsOptions
  /** The HTTP redirect listener; undefined: no redirect service. */
  readonly httpListen: ListenAddress | undefined
  readonly http: HttpOptions
  readonly redirects: readonly RouteConfig[]
  /** The admin API listener; undefined: no admin API. */
  readonly adminListen: ListenAddress | undefined
  readonly zones: readonly ZoneConfig[]
  readonly checks: readonly CheckConfig[]
  readonly sites: readonly SiteConfig[]
  readonly pools: readonly PoolConfig[]
  readonly health: HealthOptions
  readonly geo: GeoOptions
  readonly shutdown: ShutdownOptions
  readonly metrics: MetricsOptions
  readonly admin: AdminOptions
  /** undefined: a single node (no cluster section). */
  readonly cluster: ClusterOptions | undefined
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
}

// ── Health checks, pools and members (the shared core's configuration) ─────────────────────────

export type CheckType = 'tcp' | 'http' | 'https' | 'dns' | 'agent' | 'haproxy' | 'static'

export interface CheckTiming {
  /** Time between probes while the state is settled and up. @default 5s */
  readonly intervalMs: number
  /** Time between probes while a state change is in progress (rise/fall counting). @default interval / 2 */
  readonly fastIntervalMs: number
  /** Time between probes while down. @default interval */
  readonly downIntervalMs: number
  /** A probe not finished after this counts as failed; must be < interval. @default interval / 2 */
  readonly timeoutMs: number
  /** Consecutive successes to go from down to up. @default 2 */
  readonly rise: number
  /** Consecutive failures to go from up to down. @default 3 */
  readonly fall: number
  /** ± this fraction of each interval, at random, so probes do not synchronise. @default 0.1 */
  readonly jitter: number
}

export interface CheckConfig extends Located, CheckTiming {
  readonly name: string
  readonly type: CheckType
  /** Port probed, when set; a member's `check_port` overrides it. Else the member URL's port, else 80/443/53 by type. */
  readonly port: number | undefined
  // http / https (and haproxy: `path`)
  readonly method: string
  /** Request path; for haproxy checks the stats page in CSV. @default / (haproxy: /;csv) */
  readonly path: string
  /** Host header (and TLS SNI for https), independent of the address probed. */
  readonly host: string | undefined
  readonly sni: string | undefined
  readonly insecure: boolean
  readonly expectStatus: readonly number[]
  readonly expectBody: string | undefined
  readonly weightFromBody: boolean
  // dns
  readonly queryName: string | undefined
  readonly queryType: string
  readonly expectRcode: readonly string[]
  // haproxy
  /** The HAProxy backend (pxname) whose servers are counted. */
  readonly backend: string | undefined
  /** Servers of `backend` that must be up for the check to pass. @default 1 */
  readonly minUp: number
  // static
  readonly staticUp: boolean
}

export type Family = 4 | 6

/** A location members can belong to; geo routing uses these (validated and shown today). */
export interface SiteConfig extends Located {
  readonly name: string
  /** ISO 3166-1 alpha-2, uppercase. */
  readonly country: string | undefined
  /** AF, AN, AS, EU, NA, OC or SA (MaxMind continent codes). */
  readonly continent: string | undefined
  readonly lat: number | undefined
  readonly lon: number | undefined
}

export interface MemberConfig extends Located {
  readonly name: string
  /** The site this member is in (a key of `sites`). */
  readonly site: string | undefined
  /** IP address answered (A or AAAA), or undefined for host-name members. */
  readonly address: string | undefined
  /** Host name answered as a CNAME (a CNAME pool). */
  readonly host: string | undefined
  readonly family: Family | undefined
  readonly weight: number
  /** Failover group: lower groups are preferred. @default 1 */
  readonly group: number
  /** Address and port probed, when they differ from the answered address. */
  readonly checkAddress: string | undefined
  readonly checkPort: number | undefined
  /** Base URL for HTTP redirects (scheme, host, optional port and path; no query). */
  readonly url: string | undefined
  /** Whether `url` is reachable over IPv6 (for routes with match_family). @default true for IPv6 members */
  readonly urlIpv6: boolean
}

/** How members are ordered inside the set a decision chose. */
export type OrderPolicy = 'round-robin' | 'weighted' | 'hash' | 'first'

/** failover orders by member groups; geo and nearest choose a site per client, then order with `within`. */
export type Policy = OrderPolicy | 'failover' | 'geo' | 'nearest'

/** A geo map entry: clients located at `key` ('default', 'EU', 'EU/DE', 'EU/DE/BY') try these sites in order. */
export interface SiteRoute { readonly key: string, readonly sites: readonly string[] }

/** A `nets` entry: clients in this network try these sites in order, whatever the database says. */
export interface NetRoute { readonly cidr: Cidr, readonly sites: readonly string[] }

/** The client-to-sites rules of a geo or nearest pool. */
export interface PoolGeoConfig {
  /** geo: location → site list, most specific key first when looked up. */
  readonly map: readonly SiteRoute[]
  /** Both: network → site list, longest prefix wins, before the database. */
  readonly nets: readonly NetRoute[]
  /** nearest: try at most this many sites, nearest first. */
  readonly limit: number | undefined
  /** nearest: the order for clients without coordinates. @default the pool's sites in member order */
  readonly fallback: readonly string[] | undefined
}

export type OnInsufficient =
  | { readonly action: 'serve-all' }
  | { readonly action: 'nodata' }
  | { readonly action: 'servfail' }
  | { readonly action: 'fallback', readonly pool: string }

export interface PoolConfig extends Located {
  readonly name: string
  readonly check: string | undefined
  readonly policy: Policy
  /** Records per answer. @default all for round-robin, first and failover; 1 for weighted and hash */
  readonly answers: number
  readonly ttl: number
  /** TTL while the pool is degraded (a member down, or the threshold missed). @default ceil(ttl / 2) */
  readonly degradedTtl: number
  /** Healthy members needed (count, or percent of the pool or failover group). @default 1 */
  readonly minHealthy: { readonly count: number } | { readonly percent: number }
  readonly onInsufficient: OnInsufficient
  /** How far the hash policy lets one member exceed the average load. @default 1.25 */
  readonly hashBalanceFactor: number
  /** geo and nearest: the ordering inside the chosen site. @default round-robin */
  readonly within: OrderPolicy
  /** geo and nearest: which sites a client tries, in order. */
  readonly geo: PoolGeoConfig | undefined
  readonly members: readonly MemberConfig[]
}

export interface HealthOptions {
  /** State of a member before its first check result: served (up) or not (down). @default up */
  readonly initialState: 'up' | 'down'
  /** Wait at most this long for the first round of checks before opening listeners. @default 10s */
  readonly startupWaitMs: number
  /** Delay that folds bursts of health changes into one published snapshot. @default 250ms */
  readonly coalesceMs: number
  /** Probes in flight at once, over all targets. @default 1000 */
  readonly maxInFlight: number
  /** Where admin state (drain, maint, force) is kept across restarts. @default var/gslb-state.json */
  readonly stateFile: string
}
