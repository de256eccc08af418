/** Start a real server from inline YAML in a temporary directory, on a free loopback port. */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Gslb } from '../../src/app.js'
import { pino } from 'pino'
import { silentLogger, type Logger } from '../../src/log.js'

export interface Stack {
  readonly app: Gslb
  readonly dir: string
  /** The DNS port (UDP and TCP). */
  readonly port: number
  /** The admin API port, when listen.admin is configured. */
  readonly adminPort: number | undefined
  close: () => Promise<void>
}

/** `files` maps relative paths to contents; `gslb.yaml` defaults to listening on 127.0.0.1:0. */
export async function writeConfig (files: Record<string, string | Buffer>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gslb-test-'))
  const all = { 'gslb.yaml': 'listen: { dns: ["127.0.0.1:0"] }\nzones: zones/\n', ...files }
  for (const [path, text] of Object.entries(all)) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), text)
  }
  await mkdir(join(dir, 'zones'), { recursive: true })
  return dir
}

export async function startStack (files: Record<string, string | Buffer>): Promise<Stack> {
  const dir = await writeConfig(files)
  return await startIn(dir)
}

/** Start (or restart) a server on the configuration already in `dir`. */
export async function startIn (dir: string, keep = false, log: Logger = silentLogger): Promise<Stack> {
  const app = await Gslb.load(join(dir, 'gslb.yaml'), log)
  const bound = await app.start()
  return {
    app,
    dir,
    port: (bound[0] as { port: number }).port,
    adminPort: app.admin === undefined ? undefined : bound[bound.length - 1]?.port,
    close: async () => { await app.close(); if (!keep) await rm(dir, { recursive: true, force: true }) },
  }
}

/** example.test with its SOA, NS and ns1, plus `records` (YAML lines indented by two spaces). */
export function zone (records = ''): string {
  return `zone: example.test
soa: { primary: ns1.example.test, contact: hostmaster.example.test, serial: 1 }
records:
  "@": { NS: [ns1.example.test] }
  ns1: { A: 127.0.0.1 }
${records}`
}

/** A zone used by the protocol tests: every record type, a CNAME chain, a wildcard, a delegation. */
export const TEST_ZONE = `
zone: example.test
ttl: 3600
soa: { primary: ns1.example.test, contact: hostmaster.example.test, serial: 1, refresh: 7200, retry: 900, expire: 1209600, minimum: 300 }
records:
  "@":
    NS: [ns1.example.test, ns2.example.test]
    MX: [{ priority: 10, host: mail.example.test }]
    TXT: "v=spf1 -all"
    CAA: [{ tag: issue, value: ca.example.net }]
  ns1: { A: 192.0.2.53 }
  ns2: { A: 192.0.2.54, AAAA: "2001:db8::54" }
  mail: { A: 192.0.2.25 }
  www: { A: [192.0.2.10, 192.0.2.11], AAAA: "2001:db8::10", ttl: 60 }
  alias: { CNAME: www.example.test }
  alias2: { CNAME: alias.example.test }
  dangling: { CNAME: missing.example.test }
  outside: { CNAME: www.example.org }
  loop1: { CNAME: loop2.example.test }
  loop2: { CNAME: loop1.example.test }
  deep.ent.empty: { A: 192.0.2.99 }
  _sip._tcp: { SRV: [{ priority: 1, weight: 2, port: 5060, target: mail.example.test }] }
  "*.wild": { A: 192.0.2.80, TXT: wildcard }
  "*.cn": { CNAME: www.example.test }
  ptr: { PTR: www.example.test }
  big: { TXT: [${Array.from({ length: 12 }, (_, i) => `"${String(i).padStart(2, '0')}${'x'.repeat(140)}"`).join(', ')}] }
  sub: { NS: [ns.sub.example.test, ns.example.org] }
  ns.sub: { A: 192.0.2.60 }
`

/** A logger that keeps every line it writes, parsed, for tests that assert on logs. */
export function captureLogger (level = 'debug'): { log: Logger, lines: Array<{ level: number, msg: string } & Record<string, unknown>> } {
  const lines: Array<{ level: number, msg: string } & Record<string, unknown>> = []
  const log = pino({ level }, { write: (line: string) => { lines.push(JSON.parse(line) as { level: number, msg: string }) } })
  return { log, lines }
}
