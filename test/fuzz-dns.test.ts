/**
 * Property tests (fast-check, fixed seed: test/helpers/fuzz.ts) of the DNS codec and answer path.
 * The decoder throws nothing but DecodeError and gives back the bytes it read; parseQuery reads
 * back what buildQuery wrote; parseQuery and respond() never throw, and every reply decodes,
 * echoes the id, has QR set, agrees with the parser's verdict and fits the UDP limit.
 * test/dns-fuzz.test.ts mutates a few seed queries with its own PRNG; these generate the inputs.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { before, describe, test } from 'node:test'
import fc from 'fast-check'
import { loadConfig } from '../src/config/load.js'
import { compileAnswers } from '../src/dns/answer-index.js'
import { RCODE } from '../src/dns/constants.js'
import { DecodeError, decodeMessage } from '../src/dns/decode.js'
import { parseQuery, Status } from '../src/dns/query.js'
import { respond, type Serving } from '../src/dns/responder.js'
import { anyBytes, cookieOption, mutate, mutations, structuredQuery, wellFormedMessage } from './helpers/dns-arbitraries.js'
import { buildQuery, encodeMessage, type QueryOptions } from './helpers/dns.js'
import { fullSearch, fuzzParams } from './helpers/fuzz.js'
import { TEST_ZONE, writeConfig } from './helpers/stack.js'

/** decodeMessage's contract: a message or a DecodeError, nothing else. */
function decodesOrRefuses (msg: Buffer): void {
  try {
    decodeMessage(msg)
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err
  }
}

describe('decodeMessage', () => {
  test('any bytes: a message or a DecodeError', () => {
    fc.assert(fc.property(anyBytes, decodesOrRefuses), fuzzParams(5000))
  })

  test('well-formed messages with 1-4 edits (bytes, pointers, cuts, counts): a message or a DecodeError', () => {
    fc.assert(fc.property(wellFormedMessage, mutations, (m, edits) => decodesOrRefuses(mutate(m, edits))), fuzzParams(3000))
  })

  test('a well-formed uncompressed message decodes, and encodes back to the same bytes', () => {
    fc.assert(fc.property(wellFormedMessage, m => {
      assert.equal(encodeMessage(decodeMessage(m)).toString('hex'), m.toString('hex'))
    }), fuzzParams(2000))
  })
})

/** Letters, digits and hyphens: names whose text form is their wire form. */
const plainLabel = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-'), minLength: 1, maxLength: 63 })
const plainName = fc.array(plainLabel, { maxLength: 5 }).map(ls => {
  while (ls.reduce((n, l) => n + l.length + 1, 1) > 255) ls.pop()
  return ls.join('.')
})
/** Valid ECS: family, source within it, address bytes for the source with no bits beyond it. */
const validEcs = fc.constantFrom(1, 2).chain(family => fc.tuple(fc.constant(family), fc.nat(family === 1 ? 32 : 128), fc.uint8Array({ minLength: 16, maxLength: 16 })))
  .map(([family, source, bytes]) => {
    const address = Buffer.from(bytes.subarray(0, Math.ceil(source / 8)))
    if (source % 8 !== 0) address[address.length - 1] = (address[address.length - 1] as number) & (0xff << (8 - source % 8))
    return { family, source, address }
  })

const queryOptions = fc.record({
  id: fc.nat(0xffff),
  name: plainName,
  type: fc.nat(0xffff),
  cls: fc.nat(0xffff),
  flags: fc.nat(0xffff).map(f => f & 0x07ff), // neither QR nor opcode bits: those are fields of their own
  opcode: fc.nat(15),
  edns: fc.option(fc.record({
    udpSize: fc.nat(0xffff),
    version: fc.oneof(fc.constant(0), fc.nat(255)),
    do: fc.boolean(),
    ecs: fc.option(validEcs),
    // Well-formed cookies (a client cookie, or client and server) and an option nobody knows.
    cookie: fc.option(fc.oneof(fc.constant(8), fc.integer({ min: 16, max: 40 })).chain(n => fc.uint8Array({ minLength: n, maxLength: n }))),
    other: fc.option(fc.uint8Array({ maxLength: 20 })),
  })),
})

type Params = typeof queryOptions extends fc.Arbitrary<infer T> ? T : never

function optionsOf (e: NonNullable<Params['edns']>): Array<{ code: number, data: Buffer }> {
  const out: Array<{ code: number, data: Buffer }> = []
  if (e.ecs !== null) {
    const head = Buffer.from([0, e.ecs.family, e.ecs.source, 0])
    out.push({ code: 8, data: Buffer.concat([head, e.ecs.address]) })
  }
  if (e.cookie !== null) out.push({ code: 10, data: Buffer.from(e.cookie) })
  if (e.other !== null) out.push({ code: 65001, data: Buffer.from(e.other) })
  return out
}

function build (p: Params): Buffer {
  const o: QueryOptions = { id: p.id, name: p.name, type: p.type, cls: p.cls, flags: p.flags, opcode: p.opcode,
    edns: p.edns === null ? false : { udpSize: p.edns.udpSize, version: p.edns.version, do: p.edns.do, options: optionsOf(p.edns) } }
  return buildQuery(o)
}

describe('buildQuery round trips', () => {
  test('decodeMessage(buildQuery(params)) gives back every field', () => {
    fc.assert(fc.property(queryOptions, p => {
      const d = decodeMessage(build(p))
      assert.equal(d.id, p.id)
      assert.equal(d.qr, false)
      assert.equal(d.opcode, p.opcode)
      assert.equal((d.rd ? 0x100 : 0) | (d.cd ? 0x10 : 0) | (d.aa ? 0x400 : 0) | (d.tc ? 0x200 : 0) | (d.ra ? 0x80 : 0) | (d.z ? 0x40 : 0) | (d.ad ? 0x20 : 0) | d.rcode, p.flags)
      assert.deepEqual(d.question, [{ name: p.name === '' ? '.' : `${p.name}.`, type: p.type, class: p.cls }])
      assert.deepEqual([d.answer, d.authority, d.additional], [[], [], []])
      if (p.edns === null) { assert.equal(d.opt, undefined); return }
      assert.deepEqual(d.opt, { udpSize: p.edns.udpSize, extRcode: 0, version: p.edns.version, dnssecOk: p.edns.do, options: optionsOf(p.edns) })
    }), fuzzParams(2000))
  })

  test('parseQuery(buildQuery(params)) reads the name, type, class, EDNS and ECS', () => {
    fc.assert(fc.property(queryOptions, p => {
      const msg = build(p)
      const q = parseQuery(msg)
      assert.equal(q.status, p.edns !== null && p.edns.version > 0 ? Status.BADVERS : Status.OK)
      assert.equal(q.id, p.id)
      assert.equal(q.opcode, p.opcode)
      const wireName = msg.subarray(12, 12 + q.qlen)
      assert.equal(q.key, wireName.toString('latin1').toLowerCase()) // ASCII names: toLowerCase is DNS case folding
      assert.equal(q.qlen, p.name === '' ? 1 : p.name.length + 2)
      assert.equal(q.qtype, p.type)
      assert.equal(q.qclass, p.cls)
      assert.equal(q.edns, p.edns !== null)
      if (p.edns === null) return
      assert.equal(q.udpSize, p.edns.udpSize)
      assert.equal(q.ednsVersion, p.edns.version)
      assert.equal(q.dnssecOk, p.edns.do)
      if (p.edns.ecs === null) { assert.equal(q.ecsAt, -1); return }
      assert.deepEqual([q.ecsFamily, q.ecsSource, msg.subarray(q.ecsAt, q.ecsAt + q.ecsLength)], [p.edns.ecs.family, p.edns.ecs.source, p.edns.ecs.address])
    }), fuzzParams(2000))
  })
})

describe('answer path', () => {
  let serving: Serving
  before(async () => {
    const dir = await writeConfig({ 'zones/example.test.yaml': TEST_ZONE })
    serving = { answers: compileAnswers((await loadConfig(join(dir, 'gslb.yaml'))).zones), snapshot: { pools: [], byName: new Map(), geo: undefined }, ecs: true }
  })
  const PAYLOAD = 1232

  /** respond() on `msg` over UDP and TCP: the reply (or its absence) meets the contract in docs/dns.md. */
  function answersSafely (msg: Buffer): void {
    const q = parseQuery(msg)
    assert.ok(Object.values(Status).includes(q.status))
    for (const tcp of [false, true]) {
      const out = respond(msg, tcp, serving, { udpPayloadSize: PAYLOAD })
      if (msg.length < 12 || ((msg[2] as number) & 0x80) !== 0) { assert.equal(out, undefined); continue }
      assert.ok(out !== undefined, 'no reply')
      const body = tcp ? out.subarray(2) : out
      if (tcp) assert.equal(out.readUInt16BE(0), body.length)
      const d = decodeMessage(body)
      assert.equal(d.id, msg.readUInt16BE(0))
      assert.equal(d.qr, true)
      assert.equal(d.opcode, q.opcode)
      if (q.opcode !== 0) assert.equal(d.rcode, RCODE.NOTIMP)
      else if (q.status === Status.FORMERR) assert.deepEqual([d.rcode, d.question.length], [RCODE.FORMERR, 0])
      else if (q.status === Status.BADVERS) assert.equal(d.rcode, RCODE.BADVERS)
      if (!tcp) {
        const limit = q.edns && q.status !== Status.FORMERR ? Math.min(Math.max(q.udpSize, 512), PAYLOAD) : 512
        assert.ok(body.length <= limit, `UDP reply of ${body.length} bytes, limit ${limit}`)
      }
    }
  }

  test('any bytes: parseQuery and respond() never throw; replies keep the contract', () => {
    fc.assert(fc.property(anyBytes, answersSafely), fuzzParams(5000))
  })

  test('structured queries (names, types, classes, EDNS with ECS and COOKIE, extra records, counts)', () => {
    const reached = new Set<string>()
    const params = fuzzParams<[Buffer]>(4000)
    fc.assert(fc.property(structuredQuery, m => {
      const q = parseQuery(m)
      reached.add(`status ${q.status}`)
      if (q.ecsAt !== -1 && q.status === Status.OK) reached.add('ECS read')
      answersSafely(m)
    }), params)
    // The generator must reach every verdict (and a readable ECS), or the property proves little.
    if (fullSearch(params)) assert.deepEqual([...reached].sort(), ['ECS read', 'status 0', 'status 1', 'status 2', 'status 3'])
  })

  test('structured queries with 1-4 edits', () => {
    fc.assert(fc.property(structuredQuery, mutations, (m, edits) => answersSafely(mutate(m, edits))), fuzzParams(4000))
  })

  test('a COOKIE option of any length in an otherwise good query is answered (NOERROR or FORMERR)', () => {
    fc.assert(fc.property(fc.nat(0xffff), cookieOption, (id, cookie) => {
      const msg = buildQuery({ id, name: 'www.example.test', edns: { options: [cookie] } })
      answersSafely(msg)
      const rcode = decodeMessage(respond(msg, false, serving, { udpPayloadSize: PAYLOAD }) as Buffer).rcode
      assert.ok(rcode === RCODE.NOERROR || rcode === RCODE.FORMERR, `rcode ${rcode} for a ${cookie.data.length}-byte cookie`)
    }), fuzzParams(500))
  })
})
