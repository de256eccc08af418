/**
 * Replays the seed corpus of malformed packets (test/fixtures/packets/, one packet per hex file,
 * the expected answer in its name: `pointer-loop.FORMERR.hex`; DROP means no reply at all)
 * through respond() over UDP and TCP framing, and through a live server over real UDP and TCP.
 * Each packet is followed on the same socket by a normal query, whose answer must come next:
 * so nothing else was sent for the packet, and the server still answers.
 */
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { readdir, readFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { loadConfig } from '../src/config/load.js'
import { compileAnswers } from '../src/dns/answer-index.js'
import { RCODE } from '../src/dns/constants.js'
import { decodeMessage } from '../src/dns/decode.js'
import { respond, type Serving } from '../src/dns/responder.js'
import { buildQuery } from './helpers/dns.js'
import { startStack, TEST_ZONE, writeConfig, type Stack } from './helpers/stack.js'

const DIR = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'packets')
const EXPECT = { ...RCODE, DROP: -1 } as const

interface Packet { file: string, about: string, bytes: Buffer, rcode: number }

/** `# what it is` on the first line, then hex (whitespace ignored); the expectation from the name. */
async function corpus (): Promise<Packet[]> {
  const out: Packet[] = []
  for (const file of (await readdir(DIR)).filter(f => f.endsWith('.hex')).sort()) {
    const m = /^[a-z0-9-]+\.([A-Z]+)\.hex$/.exec(file)
    const rcode = m === null ? undefined : EXPECT[m[1] as keyof typeof EXPECT]
    if (rcode === undefined) throw new Error(`${file}: name it NAME.EXPECTATION.hex with one of ${Object.keys(EXPECT).join(', ')}`)
    const text = await readFile(join(DIR, file), 'utf8')
    const about = /^# (.+)$/m.exec(text)?.[1]
    const hex = text.replace(/^#.*$/gm, '').replace(/\s+/g, '')
    if (about === undefined || !/^([0-9a-f]{2})*$/.test(hex)) throw new Error(`${file}: a "# comment" line, then hex`)
    out.push({ file, about, bytes: Buffer.from(hex, 'hex'), rcode })
  }
  return out
}

const PACKETS = await corpus()
/** The normal query sent after each packet: its id is not used by any packet in the corpus. */
const PROBE_ID = 0xbeef
const probe = (): Buffer => buildQuery({ id: PROBE_ID, name: 'www.example.test' })

/**
 * What must come back for `p`: nothing, or one reply with its id, QR and the expected rcode. A
 * BADCOOKIE packet is answered over TCP (RFC 7873 §5.2.4: TCP already proves the address).
 */
function check (p: Packet, replies: Buffer[], tcp: boolean): void {
  if (p.rcode === EXPECT.DROP) { assert.equal(replies.length, 0, 'a reply to a packet that must be dropped'); return }
  assert.equal(replies.length, 1, 'one reply')
  const d = decodeMessage(replies[0] as Buffer)
  const rcode = tcp && p.rcode === RCODE.BADCOOKIE ? RCODE.NOERROR : p.rcode
  assert.equal(d.id, p.bytes.readUInt16BE(0))
  assert.equal(d.qr, true)
  assert.equal(d.rcode, rcode, `rcode ${d.rcode}, expected ${rcode}`)
}

describe('seed corpus of malformed packets', () => {
  test('the corpus has at least a dozen packets, each one expectation', () => {
    assert.ok(PACKETS.length >= 12, `${PACKETS.length} packets`)
    for (const p of PACKETS) if (p.rcode !== EXPECT.DROP) assert.notEqual(p.bytes.readUInt16BE(0), PROBE_ID, p.file)
  })

  describe('in process: respond() over UDP and TCP framing', () => {
    let serving: Serving
    before(async () => {
      const dir = await writeConfig({ 'zones/example.test.yaml': TEST_ZONE })
      serving = {
        answers: compileAnswers((await loadConfig(join(dir, 'gslb.yaml'))).zones),
        snapshot: { pools: [], byName: new Map(), geo: undefined },
        ecs: true,
        // As a server runs by default: cookies on (any secret: the corpus holds no cookie of ours).
        protocol: { cookies: { current: Buffer.alloc(16, 1), previous: undefined }, serverId: undefined, rateLimit: undefined },
      }
    })
    for (const p of PACKETS) {
      test(`${p.file}: ${p.about}`, () => {
        const udp = respond(p.bytes, false, serving, { udpPayloadSize: 1232 })
        check(p, udp === undefined ? [] : [udp], false)
        const tcp = respond(p.bytes, true, serving, { udpPayloadSize: 1232 })
        if (tcp !== undefined) assert.equal(tcp.readUInt16BE(0), tcp.length - 2, 'TCP length prefix')
        check(p, tcp === undefined ? [] : [tcp.subarray(2)], true)
      })
    }
  })

  describe('a live server', () => {
    let stack: Stack
    before(async () => { stack = await startStack({ 'zones/example.test.yaml': TEST_ZONE }) })
    after(async () => { await stack.close() })

    for (const p of PACKETS) {
      test(`${p.file} over UDP, then a normal query on the same socket`, async () => {
        check(p, await udpThenProbe(stack.port, p.bytes), false)
      })
      test(`${p.file} over TCP, then a normal query on the same connection`, async () => {
        const { replies, closed } = await tcpThenProbe(stack.port, p.bytes)
        if (p.bytes.length === 0) {
          // A frame of length 0 ends the connection (docs/dns.md, TCP): no reply, not even to the probe.
          assert.deepEqual([replies.length, closed], [0, true])
          return
        }
        assert.equal(closed, false, 'the connection closed before the normal query was answered')
        check(p, replies, true)
      })
    }

    test('the server still answers, with no internal errors', async () => {
      const replies = await udpThenProbe(stack.port, Buffer.alloc(0))
      assert.equal(replies.length, 0)
      assert.equal(stack.app.dns.counters.errors, 0)
    })
  })
})

/**
 * Send `packet`, then the probe, from one UDP socket; resolve with the replies that came before
 * the probe's. A server reads one socket in order, so a reply to the packet would come first.
 */
function udpThenProbe (port: number, packet: Buffer): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4')
    const before: Buffer[] = []
    sock.on('message', m => {
      if (m.length >= 2 && m.readUInt16BE(0) === PROBE_ID) {
        sock.close()
        if (decodeMessage(m).answer.length === 2) resolve(before)
        else reject(new Error('the normal query after the packet was not answered'))
      } else {
        before.push(m)
      }
    })
    sock.on('error', err => { sock.close(); reject(err) })
    sock.send(packet, port, '127.0.0.1', err => {
      if (err !== null) { reject(err); return }
      sock.send(probe(), port, '127.0.0.1')
    })
  })
}

/** The packet and the probe framed and pipelined on one TCP connection: replies before the probe's, or up to a close. */
function tcpThenProbe (port: number, packet: Buffer): Promise<{ replies: Buffer[], closed: boolean }> {
  return new Promise((resolve, reject) => {
    const frame = (m: Buffer): Buffer => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m])
    const sock = connect({ port, host: '127.0.0.1' }, () => sock.write(Buffer.concat([frame(packet), frame(probe())])))
    const replies: Buffer[] = []
    let buf = Buffer.alloc(0)
    sock.on('data', d => {
      buf = Buffer.concat([buf, d])
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = buf.subarray(2, 2 + buf.readUInt16BE(0))
        buf = buf.subarray(2 + m.length)
        if (m.readUInt16BE(0) === PROBE_ID) { sock.destroy(); resolve({ replies, closed: false }); return }
        replies.push(m)
      }
    })
    sock.on('close', () => resolve({ replies, closed: true }))
    sock.on('error', err => { if ((err as { code?: string }).code !== 'ECONNRESET') reject(err) })
  })
}
