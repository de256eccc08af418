/**
 * TCP connection handling through real sockets: pipelining, framing errors, the I/O and idle
 * timeouts (set short here) and the connection cap. Waits are on socket events, never sleeps.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { decodeMessage } from '../src/dns/decode.js'
import { clientPrefix } from '../src/net/address.js'
import { TcpTable, type TableEntry } from '../src/dns/tcp-table.js'
import { buildQuery, tcpExchange, udpExchange } from './helpers/dns.js'
import { freePort, serve, stop } from './helpers/process.js'
import { startStack, TEST_ZONE, writeConfig, type Stack } from './helpers/stack.js'

const frame = (m: Buffer): Buffer => { const l = Buffer.alloc(2); l.writeUInt16BE(m.length); return Buffer.concat([l, m]) }

async function open (port: number, localAddress?: string): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1', ...(localAddress === undefined ? {} : { localAddress }) })
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

  test('over the connection cap the connection idle longest makes room; UDP is unaffected', async () => {
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

/** A connection from `localAddress` that sends one byte of a message and nothing more. */
async function partial (port: number, localAddress: string): Promise<Socket> {
  const s = await open(port, localAddress)
  s.write(Buffer.from([0, 40, 1]))
  return s
}

describe('TCP caps per client network (IPv4 /24)', () => {
  test('TcpTable: at the total cap, the stalest connection among the largest networks; at a client cap, that client\'s stalest', () => {
    const c = (prefix: string, lastProgressAt: number): TableEntry => ({ prefix, lastProgressAt })
    const t = new TcpTable<TableEntry>(3, 2)
    const legit = c('L', 1000)
    const x = c('X', 1)
    const y = c('Y', 2)
    for (const e of [legit, x, y]) t.add(e)
    assert.deepEqual(t.victimFor('Z'), { victim: x, cap: 'total' }, 'ties between networks go to the oldest progress, not to the first inserted')
    t.delete(x)
    const y2 = c('Y', 3000)
    t.add(y2)
    assert.deepEqual(t.victimFor('Z'), { victim: y, cap: 'total' }, 'the largest network gives one up')
    assert.deepEqual(t.victimFor('Y'), { victim: y, cap: 'client' }, 'at its own cap a client replaces its stalest')
    assert.equal(new TcpTable<TableEntry>(3, 2).victimFor('Z'), undefined)
  })

  test('clientPrefix: /24 for IPv4 (mapped too), /56 for IPv6', () => {
    const cases: Array<[string, string]> = [
      ['192.0.2.77', '192.0.2.0/24'],
      ['::ffff:192.0.2.77', '192.0.2.0/24'],
      ['2001:db8:1:2ff::1', '2001:db8:1:200::/56'],
      ['2001:db8:1:2ff:ffff:ffff:ffff:ffff', '2001:db8:1:200::/56'],
      ['::1', '0:0:0:0::/56'],
      ['fe80::1%eth0', 'fe80:0:0:0::/56'],
    ]
    for (const [address, prefix] of cases) assert.equal(clientPrefix(address), prefix, address)
  })

  test('per-client cap: the client\'s own stalest connection makes room; at the total cap the largest client gives one up', async () => {
    const stack = await startStack({
      'gslb.yaml': 'listen: { dns: ["127.0.0.1:0"] }\ndns: { tcp_io_timeout: 30s, max_tcp_connections: 6, max_tcp_per_client: 3 }\n',
      'zones/example.test.yaml': TEST_ZONE,
    })
    const sockets: Socket[] = []
    try {
      const a: Socket[] = []
      for (let i = 0; i < 5; i++) {
        a.push(await partial(stack.port, '127.0.1.2'))
        await new Promise(resolve => setImmediate(resolve))
      }
      sockets.push(...a)
      await Promise.all([closedWithin(a[0] as Socket, 1000), closedWithin(a[1] as Socket, 1000)])
      assert.equal(stack.app.dns.counters.tcpClientCapped, 2, 'the first two of five from one /24 were closed')
      const b = [await open(stack.port, '127.0.2.3'), await open(stack.port, '127.0.2.4')]
      sockets.push(...b)
      for (const s of b) { s.write(frame(buildQuery({ name: 'www.example.test' }))); await once(s, 'data') }
      sockets.push(await partial(stack.port, '127.0.3.5'))
      // Six open: three from 127.0.1.0/24, two from 127.0.2.0/24, one from 127.0.3.0/24.
      const aClosed = Promise.race(a.slice(2).map(s => closedWithin(s, 1000)))
      const replies = await tcpExchange(stack.port, [buildQuery({ name: 'www.example.test' })], '127.0.0.1', 2000, '127.0.4.6')
      assert.equal(replies.length, 1, 'a new client is answered at the total cap')
      await aClosed
      assert.equal(stack.app.dns.counters.tcpEvicted, 1)
      assert.ok(b.every(s => !s.destroyed), 'the smaller client keeps its connections')
    } finally {
      for (const s of sockets) s.destroy()
      await stack.close()
    }
  })

  for (const workers of ['1', '2']) {
    test(`1,000 connections holding partial messages from one address, reopened as they close: another client is answered (gslb serve --workers ${workers}, defaults)`, async () => {
      const port = await freePort()
      const dir = await writeConfig({ 'zones/example.test.yaml': TEST_ZONE })
      const served = await serve(dir, ['--dns', `127.0.0.1:${port}`, '--workers', workers])
      let opened = 0
      let connected = 0
      let stopping = false
      let filled: () => void = () => {}
      const full = new Promise<void>(resolve => { filled = resolve })
      const held = new Set<Socket>()
      const hold = (): void => {
        if (stopping || opened >= 4000) return
        opened++
        const s = connect({ port, host: '127.0.0.1', localAddress: '127.0.1.2' })
        held.add(s)
        s.on('error', () => {})
        s.on('connect', () => { s.write(Buffer.from([0, 40, 1])); if (++connected === 1000) filled() })
        s.on('close', () => { held.delete(s); hold() })
      }
      try {
        for (let i = 0; i < 1000; i++) hold()
        await full
        let tcp = 0
        let udp = 0
        for (let i = 0; i < 140; i++) {
          const r = await tcpExchange(port, [buildQuery({ id: i, name: 'www.example.test' })], '127.0.0.1', 2000, '127.0.2.2').catch(() => [])
          if (r.length === 1 && decodeMessage(r[0] as Buffer).id === i) tcp++
          if (await udpExchange(port, buildQuery({ name: 'www.example.test' })) !== undefined) udp++
        }
        assert.equal(tcp, 140, `TCP answers to the other client: ${tcp} of 140 (the abuser opened ${opened})`)
        assert.equal(udp, 140)
        assert.ok(opened > 1000, 'the abuser was held to its cap and kept reopening')
      } finally {
        stopping = true
        for (const s of held) s.destroy()
        await stop(served.proc)
      }
    })
  }
})
