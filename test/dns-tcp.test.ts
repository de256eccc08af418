/**
 * TCP connection handling through real sockets: pipelining, framing errors, the I/O and idle
 * timeouts (set short here) and the connection cap. Waits are on socket events, never sleeps.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { decodeMessage } from '../src/dns/decode.js'
import { buildQuery, tcpExchange, udpExchange } from './helpers/dns.js'
import { startStack, TEST_ZONE, type Stack } from './helpers/stack.js'

const frame = (m: Buffer): Buffer => { const l = Buffer.alloc(2); l.writeUInt16BE(m.length); return Buffer.concat([l, m]) }

async function open (port: number): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1' })
  s.on('error', () => {})
  await once(s, 'connect')
  return s
}

/** Resolves with how long the server took to close the socket, failing after `limitMs`. */
function closedWithin (s: Socket, limitMs: number): Promise<number> {
  const start = Date.now()
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`socket still open after ${limitMs} ms`)), limitMs)
    s.once('close', () => { clearTimeout(t); resolve(Date.now() - start) })
  })
}

describe('DNS over TCP', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack({
      'gslb.yaml': 'listen: { dns: ["127.0.0.1:0"] }\ndns: { tcp_idle_timeout: 400ms, tcp_io_timeout: 200ms, max_tcp_connections: 4 }\n',
      'zones/example.test.yaml': TEST_ZONE,
    })
  })
  after(async () => { await stack.close() })

  test('three pipelined queries in one segment get three answers, matched by id', async () => {
    const qs = [0x1111, 0x2222, 0x3333].map((id, i) => buildQuery({ id, name: ['www', 'mail', 'nope'][i] + '.example.test' }))
    const replies = await tcpExchange(stack.port, qs)
    assert.equal(replies.length, 3)
    assert.deepEqual(replies.map(r => decodeMessage(r).id).sort((a, b) => a - b), [0x1111, 0x2222, 0x3333])
    assert.deepEqual(replies.map(r => decodeMessage(r).rcode), [0, 0, 3])
  })

  test('a message split across segments is reassembled', async () => {
    const s = await open(stack.port)
    const msg = frame(buildQuery({ id: 77, name: 'www.example.test' }))
    s.write(msg.subarray(0, 1))
    s.write(msg.subarray(1, 9))
    s.write(msg.subarray(9))
    const [data] = await once(s, 'data') as [Buffer]
    assert.equal(decodeMessage(data.subarray(2)).id, 77)
    s.destroy()
  })

  test('a malformed message gets FORMERR and the connection stays usable', async () => {
    const bad = Buffer.alloc(12)
    bad.writeUInt16BE(5, 0)
    const replies = await tcpExchange(stack.port, [bad, buildQuery({ id: 6, name: 'www.example.test' })])
    assert.deepEqual(replies.map(r => decodeMessage(r).rcode), [1, 0])
  })

  test('length prefix 0 closes the connection', async () => {
    const s = await open(stack.port)
    s.write(Buffer.from([0, 0]))
    await closedWithin(s, 1000)
  })

  test('one byte of the length prefix, then a stall: closed after the I/O timeout', async () => {
    const s = await open(stack.port)
    s.write(Buffer.from([0]))
    const ms = await closedWithin(s, 1500)
    assert.ok(ms < 1000, `closed after ${ms} ms`)
  })

  test('a partial message dripped slowly is closed at the I/O timeout, not kept alive by the drip', async () => {
    const s = await open(stack.port)
    const msg = frame(buildQuery({ name: 'www.example.test' }))
    let i = 0
    const drip = setInterval(() => { if (i < msg.length - 1 && !s.destroyed) s.write(msg.subarray(i, ++i)) }, 50)
    try {
      const ms = await closedWithin(s, 1500)
      assert.ok(ms < 600, `closed after ${ms} ms`)
    } finally { clearInterval(drip) }
  })

  test('an idle connection is closed after the idle timeout', async () => {
    const s = await open(stack.port)
    s.write(frame(buildQuery({ name: 'www.example.test' })))
    await once(s, 'data')
    const ms = await closedWithin(s, 2000)
    assert.ok(ms >= 300, `closed too early: ${ms} ms`)
  })

  test('over the connection cap the oldest idle connection makes room; UDP is unaffected', async () => {
    const idle: Socket[] = []
    for (let i = 0; i < 4; i++) idle.push(await open(stack.port))
    const firstClosed = closedWithin(idle[0] as Socket, 1000)
    const replies = await tcpExchange(stack.port, [buildQuery({ name: 'www.example.test' })])
    assert.equal(replies.length, 1, 'the new client is served')
    await firstClosed
    const udp = await udpExchange(stack.port, buildQuery({ name: 'www.example.test' }))
    assert.ok(udp !== undefined)
    for (const s of idle) s.destroy()
  })
})
