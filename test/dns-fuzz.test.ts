/**
 * Bounded mutation fuzzing with a fixed seed: mutants of valid queries (bit flips, byte writes,
 * truncation, count fields, OPT/ECS fields, pointer bytes). In-process, every mutant must be
 * answered without an exception by a reply our decoder accepts; over UDP, a few thousand go to a
 * live server, which must answer each one it should answer and still be up at the end.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { loadConfig } from '../src/config/load.js'
import { compileAnswers } from '../src/dns/answer-index.js'
import { decodeMessage } from '../src/dns/decode.js'
import { respond } from '../src/dns/responder.js'
import { buildQuery, ecsOption, udpExchange } from './helpers/dns.js'
import { rng } from './helpers/rng.js'
import { startStack, TEST_ZONE, writeConfig, type Stack } from './helpers/stack.js'
import { join } from 'node:path'

const SEEDS: Buffer[] = [
  buildQuery({ name: 'www.example.test' }),
  buildQuery({ name: 'alias2.example.test', type: 28, edns: false }),
  buildQuery({ name: 'a.b.wild.example.test', type: 16, flags: 0x0100 }),
  buildQuery({ name: 'host.sub.example.test', edns: { do: true } }),
  buildQuery({ name: 'www.example.test', edns: { options: [ecsOption(1, 24, 0, [198, 51, 100])] } }),
  buildQuery({ name: 'big.example.test', type: 16, edns: { udpSize: 4096 } }),
  buildQuery({ name: 'nope.example.test', type: 255 }),
]

function mutate (seed: Buffer, r: () => number): Buffer {
  let b = Buffer.from(seed)
  const steps = 1 + Math.floor(r() * 4)
  for (let s = 0; s < steps; s++) {
    const at = Math.floor(r() * b.length)
    switch (Math.floor(r() * 8)) {
      case 0: b[at] = (b[at] as number) ^ (1 << Math.floor(r() * 8)); break // bit flip
      case 1: b[at] = Math.floor(r() * 256); break // random byte
      case 2: b = b.subarray(0, at); break // truncate
      case 3: if (b.length >= 12) b.writeUInt16BE(Math.floor(r() * 4), 4 + 2 * Math.floor(r() * 4)); break // counts
      case 4: b[at] = 0xc0; if (at + 1 < b.length) b[at + 1] = Math.floor(r() * b.length); break // pointer
      case 5: b = Buffer.concat([b, Buffer.from(Array.from({ length: Math.floor(r() * 16) }, () => Math.floor(r() * 256)))]); break
      case 6: b[at] = [0, 0x3f, 0x40, 0x80, 0xff][Math.floor(r() * 5)] as number; break // label bytes
      default: if (b.length > 2) b[2] = (b[2] as number) ^ (1 << Math.floor(r() * 8)) // header flags and opcode
    }
  }
  return b
}

/** What a reply to this input must satisfy; undefined when no reply must be sent. */
function mustAnswer (m: Buffer): boolean {
  return m.length >= 12 && ((m[2] as number) & 0x80) === 0
}

describe('mutation fuzz', () => {
  test('20,000 mutants in process: no exception, every reply decodes, id echoed, QR set, size within limits', async () => {
    const dir = await writeConfig({ 'zones/example.test.yaml': TEST_ZONE })
    const index = { answers: compileAnswers((await loadConfig(join(dir, 'gslb.yaml'))).zones), snapshot: { pools: [], byName: new Map(), geo: undefined }, ecs: true }
    const r = rng(0x5eed)
    for (let i = 0; i < 20_000; i++) {
      const m = mutate(SEEDS[i % SEEDS.length] as Buffer, r)
      for (const tcp of [false, true]) {
        const out = respond(m, tcp, index, { udpPayloadSize: 1232 })
        if (!mustAnswer(m)) { assert.equal(out, undefined, `replied to ${m.toString('hex')}`); continue }
        assert.ok(out !== undefined, `no reply to ${m.toString('hex')}`)
        const body = tcp ? out.subarray(2) : out
        if (tcp) assert.equal(out.readUInt16BE(0), body.length)
        const d = decodeMessage(body)
        assert.equal(d.id, m.readUInt16BE(0))
        assert.equal(d.qr, true)
        if (!tcp) assert.ok(body.length <= 1232, `UDP reply of ${body.length} bytes`)
      }
    }
  })

  describe('over UDP', () => {
    let stack: Stack
    before(async () => { stack = await startStack({ 'zones/example.test.yaml': TEST_ZONE }) })
    after(async () => { await stack.close() })

    test('3,000 mutants to a live server: each gets a parseable reply; the server stays up', async () => {
      const r = rng(0xd15ea5e)
      let answered = 0
      for (let i = 0; i < 3000; i++) {
        const m = mutate(SEEDS[i % SEEDS.length] as Buffer, r)
        if (!mustAnswer(m)) {
          await udpExchange(stack.port, m, '127.0.0.1', 1) // fire and forget: must be dropped
          continue
        }
        const reply = await udpExchange(stack.port, m, '127.0.0.1', 2000)
        assert.ok(reply !== undefined, `no reply to ${m.toString('hex')}`)
        assert.equal(decodeMessage(reply).id, m.readUInt16BE(0))
        answered++
      }
      assert.ok(answered > 2000)
      const probe = await udpExchange(stack.port, buildQuery({ name: 'www.example.test' }))
      assert.ok(probe !== undefined && decodeMessage(probe).answer.length === 2, 'server still answers')
      assert.equal(stack.app.dns.counters.errors, 0, 'no internal errors while answering')
    })
  })
})
