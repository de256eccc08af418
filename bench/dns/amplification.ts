/**
 * Reflection and amplification (docs/security.md): a spoofed-source flood, played from one
 * loopback /24, of the query an attacker would pick (the largest answer: a TXT set with EDNS
 * 4096), against `gslb serve` with response rate limiting on (the defaults, loopback not exempt)
 * and off. Measured per run: queries sent, replies full / truncated, bytes in and out, and the
 * amplification factor (bytes sent to the victim / bytes the attacker sent). A client on another
 * network asks the whole time and must lose nothing.
 *
 *   npm run build && node dist/bench/dns/amplification.js [--rate 20000] [--seconds 5]
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { freePort } from '../../src/net/free-port.js'

const { values } = parseArgs({ options: { rate: { type: 'string', default: '20000' }, seconds: { type: 'string', default: '5' } } })
const RATE = Number(values.rate)
const SECONDS = Number(values.seconds)
const ROOT = join(import.meta.dirname, '..', '..', '..')

const ZONE = `zone: example.test
soa: { primary: ns1.example.test, contact: hostmaster.example.test, serial: 1 }
records:
  "@":
    NS: [ns1.example.test]
    TXT: [${Array.from({ length: 12 }, (_, i) => `"${String(i).padStart(2, '0')}${'x'.repeat(240)}"`).join(', ')}]
  ns1: { A: 127.0.0.1 }
  www: { A: 192.0.2.10 }
`

async function start (rateLimit: string): Promise<{ proc: ChildProcess, port: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'gslb-amp-'))
  await mkdir(join(dir, 'zones'))
  await writeFile(join(dir, 'zones', 'example.test.yaml'), ZONE)
  const port = await freePort()
  await writeFile(join(dir, 'gslb.yaml'), `listen: { dns: ["127.0.0.1:${port}"] }\nzones: zones/\ndns:\n  udp_payload_size: 4096\n  rate_limit: ${rateLimit}\nmetrics: { enabled: false }\n`)
  const proc = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'serve', '-c', join(dir, 'gslb.yaml'), '--log-level', 'error', '--no-watch'], { stdio: ['ignore', 'ignore', 'inherit'] })
  for (let i = 0; i < 100; i++) {
    if (await ask(port, query('www.example.test', 1, 512), '127.0.0.1', 100) !== undefined) return { proc, port }
  }
  throw new Error('gslb did not start')
}

let nextId = 1
function query (name: string, type: number, udpSize: number): Buffer {
  const labels = name.split('.').map(l => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]))
  const h = Buffer.alloc(12)
  h.writeUInt16BE(nextId++ & 0xffff, 0)
  h.writeUInt16BE(1, 4)
  h.writeUInt16BE(1, 10)
  const opt = Buffer.from([0, 0, 41, udpSize >> 8, udpSize & 0xff, 0, 0, 0, 0, 0, 0])
  return Buffer.concat([h, ...labels, Buffer.from([0, 0, type, 0, 1]), opt])
}

async function ask (port: number, msg: Buffer, from: string, timeoutMs: number): Promise<Buffer | undefined> {
  const s = createSocket('udp4')
  await new Promise<void>(resolve => s.bind({ address: from, port: 0 }, resolve))
  return await new Promise(resolve => {
    const t = setTimeout(() => { s.close(); resolve(undefined) }, timeoutMs)
    s.on('message', m => { clearTimeout(t); s.close(); resolve(m) })
    s.send(msg, port, '127.0.0.1')
  })
}

interface Result { sent: number, bytesIn: number, full: number, tc: number, bytesOut: number, legitAsked: number, legitAnswered: number }

async function run (port: number): Promise<Result> {
  const r: Result = { sent: 0, bytesIn: 0, full: 0, tc: 0, bytesOut: 0, legitAsked: 0, legitAnswered: 0 }
  const sock = createSocket({ type: 'udp4', recvBufferSize: 1 << 24 })
  await new Promise<void>(resolve => sock.bind({ address: '127.0.66.1', port: 0 }, resolve))
  sock.on('message', m => { r.bytesOut += m.length; if (((m[2] as number) & 0x02) !== 0) r.tc++; else r.full++ })
  const msg = query('example.test', 16, 4096)
  let legitDone = false
  const legit = (async () => {
    for (let i = 0; !legitDone; i++) {
      r.legitAsked++
      if (await ask(port, query('www.example.test', 1, 1232), '127.0.77.1', 1000) !== undefined) r.legitAnswered++
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  })()
  const start = Date.now()
  const total = RATE * SECONDS
  while (r.sent < total) {
    for (let i = 0; i < 100 && r.sent < total; i++, r.sent++) { sock.send(msg, port, '127.0.0.1'); r.bytesIn += msg.length }
    const due = start + r.sent * 1000 / RATE - Date.now()
    await new Promise(resolve => due > 0 ? setTimeout(resolve, due) : setImmediate(resolve))
  }
  await new Promise(resolve => setTimeout(resolve, 1000))
  legitDone = true
  await legit
  sock.close()
  return r
}

const rows: Array<[string, Result]> = []
for (const [label, rl] of [['RRL on (defaults)', '{ exempt: [] }'], ['RRL off', '{ responses_per_second: 0 }']] as const) {
  const { proc, port } = await start(rl)
  try { rows.push([label, await run(port)]) } finally { proc.kill('SIGTERM') }
}
console.log(`flood: ${RATE} TXT queries/s with EDNS 4096 from 127.0.66.1 for ${SECONDS} s; a client on 127.0.77.1 asks 10 times a second`)
console.log('| gslb | queries sent | bytes in | replies full | replies TC=1 | no reply | bytes out | amplification | other client answered |')
console.log('|---|---|---|---|---|---|---|---|---|')
for (const [label, r] of rows) {
  const none = r.sent - r.full - r.tc
  console.log(`| ${label} | ${r.sent} | ${r.bytesIn} | ${r.full} | ${r.tc} | ${none} | ${r.bytesOut} | ${(r.bytesOut / r.bytesIn).toFixed(2)}× | ${r.legitAnswered}/${r.legitAsked} |`)
}
