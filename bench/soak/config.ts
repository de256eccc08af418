/**
 * The soak's configuration directory: `gslb.yaml` and one zone, written into a temporary directory
 * the run owns. The pool `web` has three members, the small HTTP backends the run starts on
 * 127.0.40.1-3 (m3 is the one that flaps); the zone answers static names, the pool, and a large
 * TXT record the flood asks for. `writeConfig()` writes one of the variants the reloads go
 * through: a real edit (m2's weight) or a broken file (a bad duration) that must be refused.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const BACKEND_PORT = 8080
export const MEMBERS = [
  { name: 'm1', address: '127.0.40.1' },
  { name: 'm2', address: '127.0.40.2' },
  { name: 'm3', address: '127.0.40.3' },
] as const
/** The member whose backend flaps. */
export const FLAPPING = 'm3'

/** Where each class of client sends from: the legitimate load's /24 is exempt from rate limiting. */
export const SOURCES = {
  udp: '127.0.10.1',
  tcp: '127.0.10.2',
  http: '127.0.10.3',
  exempt: '127.0.10.0/24',
  canary: '127.0.20.1',
  /** The flood sends from these addresses of one /24. */
  flood: ['127.0.66.1', '127.0.66.2', '127.0.66.3', '127.0.66.4'],
} as const

export const ZONE = 'soak.test'
/** The redirect route's host and the path every legitimate request asks for. */
export const HTTP_HOST = 'dl.soak.test'
export const HTTP_PATH = '/pub/dists/bookworm/Release?soak=1'
/** The flood's one name: a TXT answer of about 1 KB, the kind an amplification attack asks for. */
export const FLOOD_NAME = `big.${ZONE}`

export interface Listen { readonly dns: string, readonly http: string, readonly admin: string }

export interface ConfigOptions {
  readonly listen: Listen
  /** Response rate limiting in the config (`dns.rate_limit`); off until the loader knows it. */
  readonly rateLimit: boolean
}

/** A version of the configuration: m2's weight (a real edit), or broken (a reload must refuse it). */
export type Variant = { readonly kind: 'good', readonly m2Weight: number } | { readonly kind: 'broken' }

const BIG_TXT = Array.from({ length: 4 }, (_, i) => `"${String(i)}${'x'.repeat(240)}"`).join(', ')

export function writeZone (dir: string): void {
  mkdirSync(join(dir, 'zones'), { recursive: true })
  writeFileSync(join(dir, 'zones', `${ZONE}.yaml`), `# The soak zone (bench/soak/config.ts).
zone: ${ZONE}
ttl: 300
soa: { primary: ns1.${ZONE}, contact: hostmaster.${ZONE}, serial: 1, refresh: 7200, retry: 900, expire: 1209600, minimum: 300 }
records:
  "@": { NS: [ns1.${ZONE}], MX: [{ priority: 10, host: mail.${ZONE} }] }
  ns1: { A: 127.0.0.1 }
  mail: { A: 192.0.2.25 }
  www: { A: [192.0.2.10, 192.0.2.11], ttl: 60 }
  api: { A: 192.0.2.20, ttl: 60 }
  web: { pool: web }
  big: { TXT: [${BIG_TXT}] }
`)
}

export function writeConfig (dir: string, opts: ConfigOptions, variant: Variant): void {
  const interval = variant.kind === 'broken' ? '1x' : '1s'
  const m2Weight = variant.kind === 'good' ? variant.m2Weight : 2
  const weights: Record<string, number> = { m1: 1, m2: m2Weight, m3: 1 }
  const members = MEMBERS.map(m =>
    `      - { name: ${m.name}, address: 192.0.2.${40 + Number(m.name.slice(1))}, check_address: ${m.address}, weight: ${String(weights[m.name])}, url: "http://${m.address}:${BACKEND_PORT}/" }`,
  ).join('\n')
  // Per worker, the rate is divided by the number of workers (docs/dns.md): 20/s per /24 in all.
  const rateLimit = opts.rateLimit
    ? `  rate_limit: { responses_per_second: 20, window: 15s, slip: 2, exempt: ["${SOURCES.exempt}"] }\n`
    : '  rate_limit: { responses_per_second: 0 }\n'
  writeFileSync(join(dir, 'gslb.yaml'), `# The soak configuration (bench/soak/config.ts), ${variant.kind === 'broken' ? 'BROKEN on purpose: a bad duration' : `m2 weight ${String(m2Weight)}`}.
listen:
  dns: ["${opts.listen.dns}"]
  http: "${opts.listen.http}"
  admin: "${opts.listen.admin}"
zones: zones/
log: { level: warn }
dns:
  max_tcp_per_client: 100
${rateLimit}checks:
  web: { type: http, port: ${BACKEND_PORT}, path: /healthz, interval: ${interval}, timeout: 500ms, rise: 2, fall: 2 }
pools:
  web:
    check: web
    policy: weighted
    answers: 2
    ttl: 30
    members:
${members}
redirects:
  - { host: ${HTTP_HOST}, path: /pub/, pool: web, alternates: 2 }
health: { state_file: var/state.json, startup_wait: 3s }
`)
}

/** dnsperf's input for the legitimate load: names that all answer NOERROR. */
export function writeQueries (dir: string): string {
  const file = join(dir, 'queries.txt')
  writeFileSync(file, [`www.${ZONE} A`, `api.${ZONE} A`, `web.${ZONE} A`, `${ZONE} MX`, `mail.${ZONE} A`, `web.${ZONE} A`, `${ZONE} SOA`, `${ZONE} NS`].join('\n') + '\n')
  return file
}
