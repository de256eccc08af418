/**
 * The soak's UDP clients that Node drives itself (a child process of bench/soak/run.ts; the bulk of
 * the legitimate UDP load is dnsperf). Prints one JSON line with its counts when done.
 *
 *   canary: a few queries a second of varied names from one address of a prefix that is NOT exempt
 *     from rate limiting; each must be answered within 2 s with the expected rcode, a full answer
 *     (no TC) and, for NOERROR, at least one record. Anything else is lost.
 *   flood: one name, thousands of queries a second from several addresses of one /24 (rate
 *     limited): counts full replies, TC=1 replies (slipped), the rest dropped, and the bytes both
 *     ways, for the amplification factor (bytes received / bytes sent).
 *
 *   node dist/bench/soak/udp-load.js --mode canary|flood --server 127.0.0.1:PORT --sources A[,B...] --qps N --seconds S
 */
import { createSocket, type Socket } from 'node:dgram'
import { parseArgs } from 'node:util'
import { RCODE, TYPE } from '../../src/dns/constants.js'
import { decodeMessage } from '../../src/dns/decode.js'
import { encodeQuery } from '../../src/dns/encode-query.js'
import { FLOOD_NAME, ZONE } from './config.js'
import { pace } from './pace.js'

const { values } = parseArgs({ options: { mode: { type: 'string' }, server: { type: 'string' }, sources: { type: 'string' }, qps: { type: 'string' }, seconds: { type: 'string' } } })
const [host = '127.0.0.1', portText = '53'] = (values.server ?? '').split(':')
const port = Number(portText)
const sources = (values.sources ?? '127.0.0.1').split(',')
const qps = Number(values.qps)
const seconds = Number(values.seconds)
const TIMEOUT_MS = 2000

interface Expect { readonly name: string, readonly type: number, readonly rcode: number }
/** The canary's names: static, the pool, the apex, and a name that does not exist. */
const CANARY: readonly Expect[] = [
  { name: `www.${ZONE}`, type: TYPE.A, rcode: RCODE.NOERROR },
  { name: `web.${ZONE}`, type: TYPE.A, rcode: RCODE.NOERROR },
  { name: `${ZONE}`, type: TYPE.MX, rcode: RCODE.NOERROR },
  { name: `api.${ZONE}`, type: TYPE.A, rcode: RCODE.NOERROR },
  { name: `nope.${ZONE}`, type: TYPE.A, rcode: RCODE.NXDOMAIN },
  { name: `${ZONE}`, type: TYPE.SOA, rcode: RCODE.NOERROR },
]

const sockets = await Promise.all(sources.map(address => new Promise<Socket>((resolve, reject) => {
  const s = createSocket('udp4')
  s.once('error', reject)
  s.bind(0, address, () => { s.off('error', reject); resolve(s) })
})))

const counts = { sent: 0, ok: 0, lost: 0, wrong: 0, full: 0, tc: 0, bytesSent: 0, bytesReceived: 0, wrongExamples: [] as string[] }
/** Queries waiting for a reply: id → what it asked and when. */
const waiting = new Map<number, { readonly expect: Expect, readonly at: number }>()
let nextId = 0

for (const s of sockets) {
  s.on('message', (msg: Buffer) => {
    counts.bytesReceived += msg.length
    if (values.mode === 'flood') {
      if ((msg.readUInt16BE(2) & 0x0200) !== 0) counts.tc++
      else counts.full++
      return
    }
    const id = msg.readUInt16BE(0)
    const q = waiting.get(id)
    if (q === undefined) return // a reply after its timeout was already counted lost
    waiting.delete(id)
    let problem: string | undefined
    try {
      const m = decodeMessage(msg)
      if (m.tc) problem = 'TC=1'
      else if (m.rcode !== q.expect.rcode) problem = `rcode ${String(m.rcode)}`
      else if (q.expect.rcode === RCODE.NOERROR && m.answer.length === 0) problem = 'no answer records'
    } catch (err) {
      problem = `undecodable: ${(err as Error).message}`
    }
    if (problem === undefined) counts.ok++
    else {
      counts.wrong++
      if (counts.wrongExamples.length < 5) counts.wrongExamples.push(`${q.expect.name}: ${problem}`)
    }
  })
}

const sweep = (now: number): void => {
  for (const [id, q] of waiting) {
    if (now - q.at < TIMEOUT_MS) break // insertion order is send order
    waiting.delete(id)
    counts.lost++
  }
}
const sweeper = setInterval(() => sweep(performance.now()), 100)

const floodQuery = encodeQuery({ name: FLOOD_NAME, type: TYPE.TXT })
const paced = await pace(qps, seconds, () => {
  const socket = sockets[counts.sent % sockets.length]
  if (socket === undefined) return false
  let query: Buffer
  if (values.mode === 'flood') {
    query = floodQuery
  } else {
    const expect = CANARY[counts.sent % CANARY.length] as Expect
    nextId = (nextId + 1) & 0xffff
    if (waiting.has(nextId)) return false
    query = encodeQuery(expect, nextId)
    waiting.set(nextId, { expect, at: performance.now() })
  }
  socket.send(query, port, host)
  counts.sent++
  counts.bytesSent += query.length
  return true
})
// Every query sent gets its full timeout before the counts are final.
await new Promise(resolve => setTimeout(resolve, TIMEOUT_MS + 200))
sweep(Infinity)
clearInterval(sweeper)
for (const s of sockets) s.close()
const dropped = values.mode === 'flood' ? counts.sent - counts.full - counts.tc : 0
console.log(JSON.stringify({ mode: values.mode, qps, seconds, ...counts, dropped, behindMax: paced.behindMax }))
