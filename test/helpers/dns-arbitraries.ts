/**
 * fast-check generators of DNS messages for the property tests: well-formed uncompressed messages
 * (every record type the decoder reads, with valid data), queries shaped like what resolvers send
 * (names in and out of the test zone, any type and class, EDNS with ECS, COOKIE and other options
 * of random lengths, extra records, counts that may lie), and byte-level mutations of either.
 * Messages are built on the wire here, not with the code under test.
 */
import fc from 'fast-check'

const u16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(n & 0xffff); return b }
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b }

/** Labels (any byte values) → wire name; labels are dropped from the end until it fits 255 octets. */
function wire (labels: readonly Uint8Array[]): Buffer {
  const kept = [...labels]
  while (kept.reduce((n, l) => n + l.length + 1, 1) > 255) kept.pop()
  return Buffer.concat([...kept.flatMap(l => [Buffer.from([l.length]), Buffer.from(l)]), Buffer.from([0])])
}

const anyLabel = fc.uint8Array({ minLength: 1, maxLength: 63 })
const word = (w: string): Uint8Array => Buffer.from(w, 'latin1')
/** A name of 0-6 labels of any bytes, dots and backslashes included; at most 255 octets on the wire. */
export const wireName = fc.array(fc.oneof(anyLabel, fc.constantFrom(...['www', 'example', 'test', 'a.b', 'x\\y'].map(word))), { maxLength: 6 }).map(wire)

/** Names the test zone (test/helpers/stack.ts TEST_ZONE) knows, in random letter case, or near them, or not. */
const ZONE_NAMES = ['www.example.test', 'example.test', 'big.example.test', 'alias2.example.test', 'a.b.wild.example.test',
  'host.sub.example.test', 'loop1.example.test', '_sip._tcp.example.test', 'nope.example.test', 'www.example.org']
const mixedCase = (name: string): fc.Arbitrary<Uint8Array[]> =>
  fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map(up =>
    [...name].map((c, i) => up[i] === true ? c.toUpperCase() : c).join('').split('.').map(word))
export const queryName = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ZONE_NAMES).chain(mixedCase).map(wire) },
  { weight: 1, arbitrary: fc.array(anyLabel, { maxLength: 4 }).map(ls => wire([...ls, word('example'), word('test')])) },
  { weight: 1, arbitrary: wireName },
  // Up to 6 labels of 63 octets: names at and over the 255-octet limit (not cut to fit).
  { weight: 1, arbitrary: fc.integer({ min: 3, max: 6 }).map(n => Buffer.concat([...Array.from({ length: n }, () => Buffer.from([63, ...Buffer.alloc(63, 0x61)])), Buffer.from([0])])) },
)

export const TYPES = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, HINFO: 13, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, CAA: 257 } as const
const READ_TYPES: readonly number[] = Object.values(TYPES)

/** Record data the decoder must accept for `type`. */
function rdataFor (type: number): fc.Arbitrary<Buffer> {
  const bytes = (n: number): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength: n, maxLength: n }).map(b => Buffer.from(b))
  const charStrings = fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 3 }).map(ss => Buffer.concat(ss.flatMap(s => [Buffer.from([s.length]), Buffer.from(s)])))
  switch (type) {
    case TYPES.A: return bytes(4)
    case TYPES.AAAA: return bytes(16)
    case TYPES.NS: case TYPES.CNAME: case TYPES.PTR: return wireName
    case TYPES.MX: return fc.tuple(bytes(2), wireName).map(p => Buffer.concat(p))
    case TYPES.SRV: return fc.tuple(bytes(6), wireName).map(p => Buffer.concat(p))
    case TYPES.SOA: return fc.tuple(wireName, wireName, bytes(20)).map(p => Buffer.concat(p))
    case TYPES.TXT: case TYPES.HINFO: return charStrings
    case TYPES.CAA: return fc.tuple(fc.nat(255), fc.uint8Array({ maxLength: 15 }), fc.uint8Array({ maxLength: 30 }))
      .map(([flags, tag, value]) => Buffer.concat([Buffer.from([flags, tag.length]), Buffer.from(tag), Buffer.from(value)]))
    default: return fc.uint8Array({ maxLength: 40 }).map(b => Buffer.from(b))
  }
}

const recordType = fc.oneof(
  fc.constantFrom(...READ_TYPES.filter(t => t !== TYPES.OPT)),
  fc.nat(0xffff).filter(t => !READ_TYPES.includes(t)),
)

/** One resource record (not OPT) with valid data, on the wire. */
export const wireRecord = fc.tuple(wireName, recordType, fc.nat(0xffff), fc.nat(0xffffffff))
  .chain(([name, type, cls, ttl]) => rdataFor(type).map(rdata => Buffer.concat([name, u16(type), u16(cls), u32(ttl), u16(rdata.length), rdata])))

export interface EdnsOption { code: number, data: Buffer }

/** An OPT record owned by the root; flag bits other than DO are 0 (the decoder does not keep them). */
function optRecord (udpSize: number, extRcode: number, version: number, dnssecOk: boolean, options: readonly EdnsOption[]): Buffer {
  const rdata = Buffer.concat(options.flatMap(o => [u16(o.code), u16(o.data.length), o.data]))
  return Buffer.concat([Buffer.from([0]), u16(TYPES.OPT), u16(udpSize), Buffer.from([extRcode, version]), u16(dnssecOk ? 0x8000 : 0), u16(rdata.length), rdata])
}

const anyOption = fc.record({ code: fc.nat(0xffff), data: fc.uint8Array({ maxLength: 48 }).map(b => Buffer.from(b)) })

/** A well-formed uncompressed message: any header, 0-2 questions, 0-3 records per section, maybe OPT (last). */
export const wellFormedMessage = fc.record({
  id: fc.nat(0xffff),
  flags: fc.nat(0xffff),
  question: fc.array(fc.tuple(wireName, fc.nat(0xffff), fc.nat(0xffff)), { maxLength: 2 }),
  answer: fc.array(wireRecord, { maxLength: 3 }),
  authority: fc.array(wireRecord, { maxLength: 3 }),
  additional: fc.array(wireRecord, { maxLength: 3 }),
  opt: fc.option(fc.tuple(fc.nat(0xffff), fc.nat(255), fc.nat(255), fc.boolean(), fc.array(anyOption, { maxLength: 3 }))),
}).map(m => Buffer.concat([
  u16(m.id), u16(m.flags), u16(m.question.length), u16(m.answer.length), u16(m.authority.length),
  u16(m.additional.length + (m.opt === null ? 0 : 1)),
  ...m.question.flatMap(([name, type, cls]) => [name, u16(type), u16(cls)]),
  ...m.answer, ...m.authority, ...m.additional,
  ...(m.opt === null ? [] : [optRecord(...m.opt)]),
]))

const mostly = fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) })

/** ECS (RFC 7871): mostly valid, else with a wrong family, source, scope, address length or stray bits. */
export const ecsOption: fc.Arbitrary<EdnsOption> = fc.record({
  family: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(1, 2) }, { weight: 1, arbitrary: fc.nat(0xffff) }),
  source: fc.nat(140),
  scope: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(255) }),
  address: fc.uint8Array({ maxLength: 16 }),
  exactLength: mostly,
  masked: mostly,
}).map(e => {
  const source = e.family === 1 ? Math.min(e.source, 40) : e.source
  const n = e.exactLength ? Math.ceil(source / 8) : e.address.length
  const address = Buffer.alloc(n)
  Buffer.from(e.address).copy(address)
  if (e.masked && n > 0 && source % 8 !== 0) address[n - 1] = (address[n - 1] as number) & (0xff << (8 - source % 8))
  const head = Buffer.alloc(4)
  head.writeUInt16BE(e.family, 0)
  head[2] = source
  head[3] = e.scope
  return { code: 8, data: Buffer.concat([head, address]) }
})

/** COOKIE (RFC 7873): lengths around the valid ones (8, 16-40) and past them. */
export const cookieOption: fc.Arbitrary<EdnsOption> = fc.oneof(
  fc.constantFrom(0, 1, 7, 8, 9, 15, 16, 24, 32, 40, 41, 48),
  fc.nat(64),
).chain(n => fc.uint8Array({ minLength: n, maxLength: n })).map(d => ({ code: 10, data: Buffer.from(d) }))

/**
 * A query: header flags (QR sometimes set), opcode, one question, 0-2 extra records in the answer,
 * authority or additional section, maybe EDNS with ECS, COOKIE and other options; the counts are
 * sometimes replaced by small random ones.
 */
export const structuredQuery = fc.record({
  id: fc.nat(0xffff),
  flags: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0, 0x0100, 0x0110) }, { weight: 1, arbitrary: fc.nat(0xffff) }),
  name: queryName,
  type: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(1, 2, 5, 6, 15, 16, 28, 33, 41, 249, 250, 251, 252, 253, 254, 255, 257) }, { weight: 1, arbitrary: fc.nat(0xffff) }),
  cls: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(1, 3, 254, 255) }, { weight: 1, arbitrary: fc.nat(0xffff) }),
  answer: fc.array(wireRecord, { maxLength: 1 }),
  authority: fc.array(wireRecord, { maxLength: 1 }),
  additional: fc.array(wireRecord, { maxLength: 2 }),
  edns: fc.option(fc.record({
    udpSize: fc.oneof(fc.constantFrom(0, 511, 512, 1232, 4096, 65535), fc.nat(0xffff)),
    version: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(255) }),
    dnssecOk: fc.boolean(),
    options: fc.array(fc.oneof(ecsOption, cookieOption, anyOption), { maxLength: 3 }),
  })),
  counts: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3)) }),
}).map(q => {
  const ar = q.additional.length + (q.edns === null ? 0 : 1)
  const counts = q.counts ?? [1, q.answer.length, q.authority.length, ar]
  return Buffer.concat([
    u16(q.id), u16(q.flags), ...counts.map(u16),
    q.name, u16(q.type), u16(q.cls), ...q.answer, ...q.authority, ...q.additional,
    ...(q.edns === null ? [] : [optRecord(q.edns.udpSize, 0, q.edns.version, q.edns.dnssecOk, q.edns.options)]),
  ])
})

/** 1-4 edits: a byte set, a compression pointer written, a cut, a count changed, a byte inserted. */
export const mutations = fc.array(fc.record({
  kind: fc.constantFrom('set', 'pointer', 'cut', 'count', 'insert'),
  at: fc.nat(),
  value: fc.nat(0xffff),
}), { minLength: 1, maxLength: 4 })

export function mutate (msg: Buffer, edits: ReadonlyArray<{ kind: string, at: number, value: number }>): Buffer {
  let b = Buffer.from(msg)
  for (const e of edits) {
    const at = b.length === 0 ? 0 : e.at % b.length
    switch (e.kind) {
      case 'set': if (b.length > 0) b[at] = e.value & 0xff; break
      case 'pointer': if (b.length > at + 1) { b[at] = 0xc0 | ((e.value >> 8) & 0x3f); b[at + 1] = e.value & 0xff } break
      case 'cut': b = b.subarray(0, e.at % (b.length + 1)); break
      case 'count': if (b.length >= 12) b.writeUInt16BE(e.value % 5, 4 + 2 * (e.at % 4)); break
      default: b = Buffer.concat([b.subarray(0, at), Buffer.from([e.value & 0xff]), b.subarray(at)])
    }
  }
  return b
}

/** Any bytes, and a header with small counts followed by any bytes (so decoding gets past the counts). */
export const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map(b => Buffer.from(b)),
  fc.tuple(fc.nat(0xffff), fc.nat(0xffff), fc.array(fc.nat(3), { minLength: 4, maxLength: 4 }), fc.uint8Array({ maxLength: 300 }))
    .map(([id, flags, counts, body]) => Buffer.concat([u16(id), u16(flags), ...counts.map(u16), Buffer.from(body)])),
)
