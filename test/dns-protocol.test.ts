/**
 * Protocol behaviour through real sockets (UDP and TCP), one case per row of the table in
 * docs/dns.md. Every reply is decoded by our codec and by dns2.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { RCODE, TYPE } from '../src/dns/constants.js'
import { decodeMessage, type DecodedMessage, type DecodedRecord } from '../src/dns/decode.js'
import { buildOpt, buildQuery, decodeBoth, ecsOption, encodeName, tcpExchange, udpExchange, type QueryOptions } from './helpers/dns.js'
import { startStack, TEST_ZONE, type Stack } from './helpers/stack.js'

interface Expect {
  drop?: true
  rcode?: number
  aa?: boolean
  tc?: boolean
  /** Exact header flag bits other than rcode, checked as a whole (for NOTIMP rows). */
  flags?: number
  opcode?: number
  qdcount?: number
  answer?: string[]
  /** Record types in the authority section, in order. */
  authority?: string[]
  additional?: string[]
  /** undefined: no check; false: no OPT; object: fields to match. */
  opt?: false | { udpSize?: number, version?: number, dnssecOk?: boolean, options?: number[] }
  check?: (m: DecodedMessage, raw: Buffer, query: Buffer) => void
}

interface Case {
  name: string
  query: QueryOptions | Buffer
  only?: 'udp' | 'tcp'
  /** Why dns2 cannot decode this reply (checked by our codec, and by dig in .ci/run). */
  notDns2?: string
  expect: Expect
}

const Q = (name: string, type: number = TYPE.A, extra: Partial<QueryOptions> = {}): QueryOptions => ({ name, type, ...extra })
const rrs = (list: DecodedRecord[]): string[] => list.map(r => `${r.name.toLowerCase()} ${r.typeName} ${r.data.toLowerCase()}`)

function header (flags: number, counts: [number, number, number, number], id = 0x4242): Buffer {
  const h = Buffer.alloc(12)
  h.writeUInt16BE(id, 0)
  h.writeUInt16BE(flags, 2)
  counts.forEach((c, i) => h.writeUInt16BE(c, 4 + i * 2))
  return h
}
const question = (name: string, type = 1): Buffer => Buffer.concat([encodeName(name), Buffer.from([0, type, 0, 1])])
const arecord = (): Buffer => Buffer.concat([Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]), Buffer.from([192, 0, 2, 1])])

const soaAuthority = ['SOA']
const cases: Case[] = [
  // Answers
  { name: 'A at a name with two addresses', query: Q('www.example.test'), expect: { rcode: 0, aa: true, answer: ['www.example.test. A 192.0.2.10', 'www.example.test. A 192.0.2.11'], opt: { udpSize: 1232, version: 0 } } },
  { name: 'AAAA', query: Q('www.example.test', TYPE.AAAA), expect: { rcode: 0, aa: true, answer: ['www.example.test. AAAA 2001:db8::10'] } },
  { name: 'MX with the exchange address as additional data', query: Q('example.test', TYPE.MX), expect: { answer: ['example.test. MX 10 mail.example.test.'], additional: ['mail.example.test. A 192.0.2.25'] } },
  { name: 'NS at the apex with addresses of the servers', query: Q('example.test', TYPE.NS), expect: { aa: true, answer: ['example.test. NS ns1.example.test.', 'example.test. NS ns2.example.test.'], additional: ['ns1.example.test. A 192.0.2.53', 'ns2.example.test. A 192.0.2.54', 'ns2.example.test. AAAA 2001:db8::54'] } },
  { name: 'SOA', query: Q('example.test', TYPE.SOA), expect: { aa: true, answer: ['example.test. SOA ns1.example.test. hostmaster.example.test. 1 7200 900 1209600 300'] } },
  { name: 'TXT', query: Q('example.test', TYPE.TXT), expect: { answer: ['example.test. TXT "v=spf1 -all"'] } },
  { name: 'CAA', query: Q('example.test', TYPE.CAA), expect: { answer: ['example.test. CAA 0 issue "ca.example.net"'] } },
  { name: 'SRV (target not compressed)', query: Q('_sip._tcp.example.test', TYPE.SRV), expect: { answer: ['_sip._tcp.example.test. SRV 1 2 5060 mail.example.test.'] } },
  { name: 'PTR', query: Q('ptr.example.test', TYPE.PTR), expect: { answer: ['ptr.example.test. PTR www.example.test.'] } },
  { name: 'TTL per owner and zone default', query: Q('mail.example.test'), expect: { check: m => { assert.equal(m.answer[0]?.ttl, 3600) } } },

  // Negative answers (RFC 2308): SOA in authority with TTL min(SOA TTL, MINIMUM)
  { name: 'NXDOMAIN with SOA', query: Q('nope.example.test'), expect: { rcode: RCODE.NXDOMAIN, aa: true, answer: [], authority: soaAuthority, check: m => { assert.equal(m.authority[0]?.ttl, 300) } } },
  { name: 'NODATA with SOA', query: Q('www.example.test', TYPE.TXT), expect: { rcode: 0, aa: true, answer: [], authority: soaAuthority } },
  { name: 'empty non-terminal is NODATA, not NXDOMAIN', query: Q('ent.empty.example.test'), expect: { rcode: 0, aa: true, answer: [], authority: soaAuthority } },
  { name: 'unknown type 666 is NODATA', query: Q('www.example.test', 666), expect: { rcode: 0, aa: true, answer: [], authority: soaAuthority } },
  { name: 'qtype 0 is NODATA', query: Q('www.example.test', 0), expect: { rcode: 0, authority: soaAuthority } },

  // CNAME chains inside our zones
  { name: 'CNAME chain followed', query: Q('alias2.example.test'), expect: { rcode: 0, aa: true, answer: ['alias2.example.test. CNAME alias.example.test.', 'alias.example.test. CNAME www.example.test.', 'www.example.test. A 192.0.2.10', 'www.example.test. A 192.0.2.11'] } },
  { name: 'CNAME query returns only the CNAME', query: Q('alias.example.test', TYPE.CNAME), expect: { answer: ['alias.example.test. CNAME www.example.test.'] } },
  { name: 'CNAME to a missing name: NXDOMAIN', query: Q('dangling.example.test'), expect: { rcode: RCODE.NXDOMAIN, aa: true, answer: ['dangling.example.test. CNAME missing.example.test.'], authority: soaAuthority } },
  { name: 'CNAME leaving our zones stops there', query: Q('outside.example.test'), expect: { rcode: 0, answer: ['outside.example.test. CNAME www.example.org.'], authority: [] } },
  { name: 'CNAME loop terminates', query: Q('loop1.example.test'), expect: { rcode: 0, check: m => { assert.ok(m.answer.length >= 2 && m.answer.length <= 8) } } },
  { name: 'CNAME then NODATA at the target', query: Q('alias.example.test', TYPE.MX), expect: { rcode: 0, answer: ['alias.example.test. CNAME www.example.test.'], authority: soaAuthority } },

  // Wildcards (RFC 4592)
  { name: 'wildcard synthesises the query name', query: Q('a.b.wild.example.test'), expect: { rcode: 0, aa: true, answer: ['a.b.wild.example.test. A 192.0.2.80'] } },
  { name: 'wildcard TXT', query: Q('x.wild.example.test', TYPE.TXT), expect: { answer: ['x.wild.example.test. TXT "wildcard"'] } },
  { name: 'wildcard NODATA', query: Q('x.wild.example.test', TYPE.AAAA), expect: { rcode: 0, answer: [], authority: soaAuthority } },
  { name: 'wildcard CNAME is followed', query: Q('host.cn.example.test'), expect: { answer: ['host.cn.example.test. CNAME www.example.test.', 'www.example.test. A 192.0.2.10', 'www.example.test. A 192.0.2.11'] } },
  { name: 'the wildcard owner itself', query: Q('*.wild.example.test'), expect: { answer: ['*.wild.example.test. A 192.0.2.80'] } },
  { name: 'no wildcard at the parent: NXDOMAIN', query: Q('x.www.example.test'), expect: { rcode: RCODE.NXDOMAIN } },

  // Delegation below the apex: referral with glue, AA=0
  { name: 'referral below a cut', query: Q('host.sub.example.test'), expect: { rcode: 0, aa: false, answer: [], authority: ['NS', 'NS'], additional: ['ns.sub.example.test. A 192.0.2.60'] } },
  { name: 'referral for NS at the cut', query: Q('sub.example.test', TYPE.NS), expect: { rcode: 0, aa: false, answer: [], authority: ['NS', 'NS'] } },
  { name: 'glue name itself gets the referral', query: Q('ns.sub.example.test'), expect: { aa: false, answer: [], authority: ['NS', 'NS'] } },
  { name: 'DS at the cut is answered by the parent', query: Q('sub.example.test', TYPE.DS), expect: { rcode: 0, aa: true, answer: [], authority: soaAuthority } },

  // Outside our zones: REFUSED, AA=0, no referral upwards
  { name: 'name outside every zone: REFUSED', query: Q('www.example.org'), expect: { rcode: RCODE.REFUSED, aa: false, answer: [], authority: [], qdcount: 1 } },
  { name: 'root NS: REFUSED', query: Q('.', TYPE.NS), expect: { rcode: RCODE.REFUSED, aa: false, authority: [] } },
  { name: 'parent of the zone: REFUSED', query: Q('test', TYPE.SOA), expect: { rcode: RCODE.REFUSED } },

  // Classes
  { name: 'CHAOS class: REFUSED', query: Q('version.bind', TYPE.TXT, { cls: 3 }), expect: { rcode: RCODE.REFUSED, aa: false } },
  { name: 'class HS: REFUSED', query: Q('www.example.test', TYPE.A, { cls: 4 }), expect: { rcode: RCODE.REFUSED } },
  { name: 'class ANY answered as IN', query: Q('www.example.test', TYPE.A, { cls: 255 }), expect: { rcode: 0, aa: true, answer: ['www.example.test. A 192.0.2.10', 'www.example.test. A 192.0.2.11'] } },

  // Meta types
  { name: 'ANY is minimal: one RRset (RFC 8482)', query: Q('www.example.test', TYPE.ANY), expect: { rcode: 0, aa: true, check: m => { assert.equal(new Set(m.answer.map(a => a.type)).size, 1) } } },
  { name: 'ANY at a CNAME returns the CNAME', query: Q('alias.example.test', TYPE.ANY), expect: { answer: ['alias.example.test. CNAME www.example.test.'] } },
  { name: 'AXFR over TCP: REFUSED', query: Q('example.test', TYPE.AXFR), only: 'tcp', expect: { rcode: RCODE.REFUSED, aa: false, answer: [] } },
  { name: 'AXFR over UDP: REFUSED', query: Q('example.test', TYPE.AXFR), only: 'udp', expect: { rcode: RCODE.REFUSED } },
  { name: 'IXFR: REFUSED', query: Q('example.test', TYPE.IXFR), expect: { rcode: RCODE.REFUSED } },
  { name: 'TKEY: FORMERR', query: Q('example.test', TYPE.TKEY), expect: { rcode: RCODE.FORMERR } },
  { name: 'MAILA: NOTIMP', query: Q('example.test', TYPE.MAILA), expect: { rcode: RCODE.NOTIMP } },

  // Opcodes: NOTIMP, opcode echoed, no other flag copied
  ...[1, 2, 3, 4, 5, 6, 7, 15].map((opcode): Case => ({ name: `opcode ${opcode}: NOTIMP`, query: Q('example.test', TYPE.SOA, { opcode, flags: 0x0100 }), expect: { rcode: RCODE.NOTIMP, opcode, flags: 0x8000 | (opcode << 11) } })),
  { name: 'opcode 15 with every flag set: NOTIMP, TC=0 RD=0', query: Q('example.test', TYPE.SOA, { opcode: 15, flags: 0x07f0 }), expect: { rcode: RCODE.NOTIMP, opcode: 15, flags: 0x8000 | (15 << 11) } },

  // Header flags
  { name: 'RD copied, RA clear', query: Q('www.example.test', TYPE.A, { flags: 0x0100 }), expect: { check: m => { assert.equal(m.rd, true); assert.equal(m.ra, false) } } },
  { name: 'CD copied, AD cleared', query: Q('www.example.test', TYPE.A, { flags: 0x0030 }), expect: { check: m => { assert.equal(m.cd, true); assert.equal(m.ad, false) } } },
  { name: 'Z in the query is cleared in the answer', query: Q('www.example.test', TYPE.A, { flags: 0x0040 }), expect: { rcode: 0, check: m => { assert.equal(m.z, false) } } },
  { name: 'TC in a query is ignored', query: Q('www.example.test', TYPE.A, { flags: 0x0200 }), expect: { rcode: 0, tc: false, answer: ['www.example.test. A 192.0.2.10', 'www.example.test. A 192.0.2.11'] } },
  {
    name: 'query name case echoed byte for byte',
    query: Q('WwW.ExAmPlE.TeSt'),
    expect: {
      answer: ['www.example.test. A 192.0.2.10', 'www.example.test. A 192.0.2.11'],
      check: (m, raw, query) => {
        assert.equal(m.question[0]?.name, 'WwW.ExAmPlE.TeSt.')
        assert.deepEqual(raw.subarray(12, 12 + 18), query.subarray(12, 12 + 18))
      },
    },
  },

  // EDNS(0)
  { name: 'no EDNS in the query: no OPT in the answer', query: Q('www.example.test', TYPE.A, { edns: false }), expect: { rcode: 0, opt: false } },
  { name: 'EDNS version 1: BADVERS, OPT version 0, question echoed', query: Q('www.example.test', TYPE.A, { edns: { version: 1 } }), expect: { rcode: RCODE.BADVERS, answer: [], qdcount: 1, opt: { version: 0 } } },
  { name: 'unknown EDNS option ignored, not echoed', query: Q('www.example.test', TYPE.A, { edns: { options: [{ code: 100, data: Buffer.from('hi') }, { code: 65000, data: Buffer.alloc(0) }] } }), expect: { rcode: 0, opt: { options: [] } } },
  { name: 'DO copied', query: Q('www.example.test', TYPE.A, { edns: { do: true } }), expect: { rcode: 0, opt: { dnssecOk: true } } },
  { name: 'unknown EDNS flag ignored, MBZ zero in the answer', query: Q('www.example.test', TYPE.A, { edns: { extraFlags: 0x0080 } }), expect: { rcode: 0, check: (_m, raw) => { assert.equal(raw.readUInt16BE(raw.length - 4), 0) } } },
  { name: 'two OPT records: FORMERR', query: Buffer.concat([header(0, [1, 0, 0, 2]), question('www.example.test'), buildOpt({}), buildOpt({})]), expect: { rcode: RCODE.FORMERR, qdcount: 0 } },
  { name: 'OPT owner not root: FORMERR', query: Buffer.concat([header(0, [1, 0, 0, 1]), question('www.example.test'), Buffer.from([0xc0, 12]), buildOpt({}).subarray(1)]), expect: { rcode: RCODE.FORMERR } },
  { name: 'OPT in the answer section: FORMERR', query: Buffer.concat([header(0, [1, 1, 0, 0]), question('www.example.test'), buildOpt({})]), expect: { rcode: RCODE.FORMERR } },
  { name: 'OPT data overruns the packet: FORMERR', query: (() => { const o = buildOpt({ options: [{ code: 100, data: Buffer.from('abcd') }] }); o.writeUInt16BE(40, 9); return Buffer.concat([header(0, [1, 0, 0, 1]), question('www.example.test'), o]) })(), expect: { rcode: RCODE.FORMERR } },
  { name: 'EDNS option length overruns OPT: FORMERR', query: (() => { const o = buildOpt({ options: [{ code: 100, data: Buffer.from('abcd') }] }); o.writeUInt16BE(9, 13); return Buffer.concat([header(0, [1, 0, 0, 1]), question('www.example.test'), o]) })(), expect: { rcode: RCODE.FORMERR } },

  // EDNS Client Subnet (RFC 7871)
  { name: 'ECS echoed with scope 0', query: Q('www.example.test', TYPE.A, { edns: { options: [ecsOption(1, 24, 0, [198, 51, 100])] } }), expect: { rcode: 0, check: m => { assert.deepEqual([...(m.opt?.options[0]?.data ?? [])], [0, 1, 24, 0, 198, 51, 100]) } } },
  { name: 'ECS source 0 echoed', query: Q('www.example.test', TYPE.A, { edns: { options: [ecsOption(1, 0, 0, [])] } }), expect: { rcode: 0, check: m => { assert.deepEqual([...(m.opt?.options[0]?.data ?? [])], [0, 1, 0, 0]) } } },
  { name: 'ECS IPv6 /48 echoed', query: Q('www.example.test', TYPE.A, { edns: { options: [ecsOption(2, 48, 0, [0x20, 1, 0xd, 0xb8, 0, 1])] } }), expect: { rcode: 0, check: m => { assert.deepEqual([...(m.opt?.options[0]?.data ?? [])], [0, 2, 48, 0, 0x20, 1, 0xd, 0xb8, 0, 1]) } } },
  {
    name: 'ECS IPv6 /56 (odd address length) echoed',
    query: Q('www.example.test', TYPE.A, { edns: { options: [ecsOption(2, 56, 0, [0x20, 1, 0xd, 0xb8, 0, 0, 1])] } }),
    notDns2: 'dns2 3.1.1 reads 16 bits for an odd trailing IPv6 ECS octet and overruns the message',
    expect: { rcode: 0, check: m => { assert.deepEqual([...(m.opt?.options[0]?.data ?? [])], [0, 2, 56, 0, 0x20, 1, 0xd, 0xb8, 0, 0, 1]) } },
  },
  { name: 'ECS scope set in the query: FORMERR', query: Q('www.example.test', TYPE.A, { edns: { options: [ecsOption(1, 24, 24, [198, 51, 100])] } }), expect: { rcode: RCODE.FORMERR } },
  { name: 'ECS source > 32 for IPv4: FORMERR', query: Q('www.example.test', TYPE.A, { edns: { options: [ecsOption(1, 33, 0, [1, 2, 3, 4, 5])] } }), expect: { rcode: RCODE.FORMERR } },
  { name: 'ECS address longer than the prefix: FORMERR', query: Q('www.example.test', TYPE.A, { edns: { options: [ecsOption(1, 16, 0, [198, 51, 100])] } }), expect: { rcode: RCODE.FORMERR } },
  { name: 'ECS bits set beyond the prefix: FORMERR', query: Q('www.example.test', TYPE.A, { edns: { options: [ecsOption(1, 20, 0, [198, 51, 100])] } }), expect: { rcode: RCODE.FORMERR } },
  { name: 'ECS unknown family: FORMERR', query: Q('www.example.test', TYPE.A, { edns: { options: [ecsOption(3, 0, 0, [])] } }), expect: { rcode: RCODE.FORMERR } },
  { name: 'ECS option shorter than 4 bytes: FORMERR', query: Q('www.example.test', TYPE.A, { edns: { options: [{ code: 8, data: Buffer.from([0, 1]) }] } }), expect: { rcode: RCODE.FORMERR } },

  // Malformed input (wire)
  { name: 'shorter than a header: dropped', query: Buffer.from([1, 2, 3, 4, 5]), only: 'udp', expect: { drop: true } },
  { name: 'QR=1: dropped', query: Buffer.concat([header(0x8000, [1, 0, 0, 0]), question('www.example.test')]), only: 'udp', expect: { drop: true } },
  { name: 'QDCOUNT=0: FORMERR without a question', query: header(0, [0, 0, 0, 0]), expect: { rcode: RCODE.FORMERR, qdcount: 0 } },
  { name: 'QDCOUNT=2: FORMERR', query: Buffer.concat([header(0, [2, 0, 0, 0]), question('www.example.test'), question('www.example.test')]), expect: { rcode: RCODE.FORMERR, qdcount: 0 } },
  { name: 'QDCOUNT=2 with one question: FORMERR', query: Buffer.concat([header(0, [2, 0, 0, 0]), question('www.example.test')]), expect: { rcode: RCODE.FORMERR } },
  { name: 'packet ends inside the name: FORMERR', query: Buffer.concat([header(0, [1, 0, 0, 0]), Buffer.from([3, 0x77, 0x77])]), expect: { rcode: RCODE.FORMERR } },
  { name: 'packet ends inside qtype: FORMERR', query: Buffer.concat([header(0, [1, 0, 0, 0]), encodeName('www.example.test'), Buffer.from([0])]), expect: { rcode: RCODE.FORMERR } },
  { name: 'compression pointer in the question: FORMERR', query: Buffer.concat([header(0, [1, 0, 0, 0]), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), expect: { rcode: RCODE.FORMERR } },
  { name: 'extended label type 0x40: FORMERR', query: Buffer.concat([header(0, [1, 0, 0, 0]), Buffer.from([0x41, 0, 0, 1, 0, 1])]), expect: { rcode: RCODE.FORMERR } },
  { name: 'name over 255 octets: FORMERR', query: Buffer.concat([header(0, [1, 0, 0, 0]), ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([60]), Buffer.alloc(60, 0x61)])), Buffer.from([0, 0, 1, 0, 1])]), expect: { rcode: RCODE.FORMERR } },
  { name: 'trailing bytes ignored', query: Buffer.concat([header(0, [1, 0, 0, 0]), question('www.example.test'), Buffer.from('junk')]), expect: { rcode: 0, aa: true } },
  { name: 'ANCOUNT=1 in a query: answered', query: Buffer.concat([header(0, [1, 1, 0, 0]), question('www.example.test'), arecord()]), expect: { rcode: 0, aa: true } },
  { name: 'record in the answer section runs past the end: FORMERR', query: Buffer.concat([header(0, [1, 1, 0, 0]), question('www.example.test'), arecord().subarray(0, 8)]), expect: { rcode: RCODE.FORMERR } },
  { name: 'pointer loop in a later section: FORMERR', query: Buffer.concat([header(0, [1, 1, 0, 0]), question('www.example.test'), Buffer.from([0xc0, 34]), arecord().subarray(2)]), expect: { rcode: RCODE.FORMERR } },

  // Size: TC=1 with no partial RRsets; the full answer over TCP
  { name: 'large answer without EDNS: TC=1, question only', query: Q('big.example.test', TYPE.TXT, { edns: false }), only: 'udp', expect: { tc: true, answer: [], authority: [], qdcount: 1, check: (_m, raw) => { assert.ok(raw.length <= 512) } } },
  { name: 'large answer over 1232: TC=1 with OPT', query: Q('big.example.test', TYPE.TXT, { edns: { udpSize: 4096 } }), only: 'udp', expect: { tc: true, answer: [], opt: { udpSize: 1232 } } },
  { name: 'client payload 65535 is capped at ours', query: Q('big.example.test', TYPE.TXT, { edns: { udpSize: 65535 } }), only: 'udp', expect: { tc: true } },
  { name: 'payload below 512 treated as 512', query: Q('www.example.test', TYPE.A, { edns: { udpSize: 100 } }), only: 'udp', expect: { tc: false, rcode: 0 } },
  { name: 'large answer complete over TCP', query: Q('big.example.test', TYPE.TXT), only: 'tcp', expect: { tc: false, check: m => { assert.equal(m.answer.length, 12) } } },
]

describe('DNS protocol', () => {
  let stack: Stack
  before(async () => { stack = await startStack({ 'zones/example.test.yaml': TEST_ZONE }) })
  after(async () => { await stack.close() })

  for (const transport of ['udp', 'tcp'] as const) {
    describe(transport, () => {
      for (const c of cases) {
        if (c.only !== undefined && c.only !== transport) continue
        test(c.name, async () => {
          const query = Buffer.isBuffer(c.query) ? c.query : buildQuery(c.query)
          const raw = transport === 'udp'
            ? await udpExchange(stack.port, query, '127.0.0.1', c.expect.drop === true ? 300 : 2000)
            : (await tcpExchange(stack.port, [query]))[0]
          if (c.expect.drop === true) { assert.equal(raw, undefined, 'expected no reply'); return }
          assert.ok(raw !== undefined, 'no reply')
          const m = c.notDns2 === undefined ? decodeBoth(raw) : decodeMessage(raw)
          assert.equal(m.id, query.readUInt16BE(0), 'id echoed')
          assert.equal(m.qr, true)
          const e = c.expect
          if (e.rcode !== undefined) assert.equal(m.rcode, e.rcode, 'rcode')
          if (e.aa !== undefined) assert.equal(m.aa, e.aa, 'AA')
          if (e.tc !== undefined) assert.equal(m.tc, e.tc, 'TC')
          if (e.opcode !== undefined) assert.equal(m.opcode, e.opcode, 'opcode')
          if (e.flags !== undefined) assert.equal(raw.readUInt16BE(2) & 0xfff0, e.flags, 'flags')
          if (e.qdcount !== undefined) assert.equal(m.question.length, e.qdcount, 'QDCOUNT')
          if (e.answer !== undefined) assert.deepEqual(rrs(m.answer), e.answer)
          if (e.authority !== undefined) assert.deepEqual(m.authority.map(r => r.typeName), e.authority)
          if (e.additional !== undefined) assert.deepEqual(rrs(m.additional), e.additional)
          if (e.opt === false) assert.equal(m.opt, undefined, 'no OPT expected')
          if (e.opt !== undefined && e.opt !== false) {
            assert.ok(m.opt !== undefined, 'OPT expected')
            if (e.opt.udpSize !== undefined) assert.equal(m.opt.udpSize, e.opt.udpSize)
            if (e.opt.version !== undefined) assert.equal(m.opt.version, e.opt.version)
            if (e.opt.dnssecOk !== undefined) assert.equal(m.opt.dnssecOk, e.opt.dnssecOk)
            if (e.opt.options !== undefined) assert.deepEqual(m.opt.options.map(o => o.code), e.opt.options)
          }
          e.check?.(m, raw, query)
        })
      }
    })
  }
})
