/**
 * The soak's legitimate HTTP clients (a child process of bench/soak/run.ts): redirect requests at a
 * fixed rate over keep-alive connections from one local address, one request at a time per
 * connection, the connections taken in turn (so none idles into the server's keep-alive timeout).
 * Written on raw sockets, as wrk is, because node:http's client costs several times the server's
 * work per request and the soak shares two cores with it. Each answer must be a 302 whose Location
 * is one of the pool's member URLs; a request that errs, times out (5 s) or gets anything else is
 * lost or wrong. A connection the server closes (`Connection: close` after its request cap) is
 * replaced. Prints one JSON line with its counts when done.
 *
 *   node dist/bench/soak/http-load.js --target 127.0.0.1:PORT --source ADDR --rate N --seconds S
 */
import { connect, type Socket } from 'node:net'
import { parseArgs } from 'node:util'
import { BACKEND_PORT, HTTP_HOST, HTTP_PATH, MEMBERS } from './config.js'
import { pace } from './pace.js'

const { values } = parseArgs({ options: { target: { type: 'string' }, source: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' } } })
const [host = '127.0.0.1', port = '80'] = (values.target ?? '').split(':')
const rate = Number(values.rate)
const seconds = Number(values.seconds)
/** Enough connections for the rate at up to 10 ms per request; each is used at least every second. */
const CONNECTIONS = Math.min(256, Math.max(2, Math.ceil(rate / 100)))
const TIMEOUT_MS = 5000
/** Connections opened in all, at most (a bound on the loop that replaces closed ones). */
const MAX_CONNECTS = CONNECTIONS + 2000

const REQUEST = Buffer.from(`GET ${HTTP_PATH} HTTP/1.1\r\nHost: ${HTTP_HOST}\r\nUser-Agent: gslb-soak\r\n\r\n`)
const LOCATIONS = MEMBERS.map(m => `http://${m.address}:${BACKEND_PORT}/`)
const counts = { sent: 0, ok: 0, lost: 0, wrong: 0, connects: 0, statuses: {} as Record<string, number>, errors: {} as Record<string, number>, wrongExamples: [] as string[] }

interface Conn { socket: Socket, sentAt: number | undefined, buf: Buffer }
/** Connected and waiting for a request, oldest first. */
const idle: Conn[] = []
const all = new Set<Conn>()

const bad = (kind: 'lost' | 'wrong', what: string): void => {
  counts[kind]++
  const table = kind === 'lost' ? counts.errors : counts.statuses
  table[what] = (table[what] ?? 0) + 1
}

function open (): void {
  if (counts.connects >= MAX_CONNECTS) return
  counts.connects++
  const socket = connect({ host, port: Number(port), ...(values.source === undefined ? {} : { localAddress: values.source }) })
  const c: Conn = { socket, sentAt: undefined, buf: Buffer.alloc(0) }
  all.add(c)
  socket.setNoDelay(true)
  socket.on('connect', () => idle.push(c))
  socket.on('data', (d: Buffer) => { c.buf = c.buf.length === 0 ? d : Buffer.concat([c.buf, d]); read(c) })
  socket.on('error', () => {}) // 'close' follows and says it
  socket.on('close', () => {
    all.delete(c)
    const i = idle.indexOf(c)
    if (i >= 0) idle.splice(i, 1)
    if (c.sentAt !== undefined) { c.sentAt = undefined; bad('lost', 'connection closed') }
    if (!finished) open()
  })
}

/** One whole response in the buffer: judge it, then the connection takes the next request (or closes). */
function read (c: Conn): void {
  const end = c.buf.indexOf('\r\n\r\n')
  if (end < 0) return
  const head = c.buf.subarray(0, end).toString('latin1')
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
  if (c.buf.length < end + 4 + length) return
  c.buf = c.buf.subarray(end + 4 + length)
  if (c.sentAt === undefined) { bad('wrong', 'unasked'); return }
  c.sentAt = undefined
  const status = head.slice(9, 12)
  const location = /\r\nlocation: *([^\r]*)/i.exec(head)?.[1] ?? ''
  if (status === '302' && LOCATIONS.some(l => location.startsWith(l))) counts.ok++
  else {
    bad('wrong', status)
    if (counts.wrongExamples.length < 5) counts.wrongExamples.push(`${status} ${location}`)
  }
  if (/\r\nconnection: *close/i.test(head)) c.socket.end()
  else idle.push(c)
}

let finished = false
for (let i = 0; i < CONNECTIONS; i++) open()
const sweeper = setInterval(() => {
  const now = performance.now()
  for (const c of all) if (c.sentAt !== undefined && now - c.sentAt > TIMEOUT_MS) { c.sentAt = undefined; bad('lost', 'timeout'); c.socket.destroy() }
}, 250)

const paced = await pace(rate, seconds, () => {
  const c = idle.shift()
  if (c === undefined) return false
  c.sentAt = performance.now()
  c.socket.write(REQUEST)
  counts.sent++
  return true
})
// Every request sent gets its full timeout before the counts are final.
const deadline = performance.now() + TIMEOUT_MS + 1000
const busy = (): number => [...all].filter(c => c.sentAt !== undefined).length
while (busy() > 0 && performance.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
finished = true
clearInterval(sweeper)
const unfinished = busy()
counts.lost += unfinished
for (const c of all) c.socket.destroy()
console.log(JSON.stringify({ rate, seconds, connections: CONNECTIONS, ...counts, unfinished, behindMax: paced.behindMax }))
