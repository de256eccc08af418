/**
 * DNS cookies (RFC 7873) with RFC 9018 server cookies, NSID (RFC 5001) and CH TXT id.server:
 * SipHash-2-4 against the reference vectors, server cookies against RFC 9018 Appendix A, the
 * responder's handling of every cookie case, and a live server over UDP and TCP.
 */
import assert from 'node:assert/strict'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { loadConfig } from '../src/config/load.js'
import { answerCookie, Cookie, cookieLengthOk } from '../src/dns/cookies.js'
import { CookieSecretSource, cookieSecrets } from '../src/dns/cookie-secret.js'
import { compileAnswers } from '../src/dns/answer-index.js'
import { decodeMessage } from '../src/dns/decode.js'
import { respond, type Serving } from '../src/dns/responder.js'
import { siphash24 } from '../src/dns/siphash.js'
import { GslbError } from '../src/errors.js'
import { buildQuery, tcpExchange, udpExchange } from './helpers/dns.js'
import { captureLogger, startStack, TEST_ZONE, writeConfig, zone, type Stack } from './helpers/stack.js'

const hex = (s: string): Buffer => Buffer.from(s, 'hex')
const COOKIE = 10
const NSID = 3

describe('SipHash-2-4', () => {
  // The reference implementation's vectors: key 00..0f, message 00..n-1, output little-endian.
  const vectors: Array<[number, string]> = [
    [0, '310e0edd47db6f72'], [1, 'fd67dc93c539f874'], [2, '5a4fa9d909806c0d'], [3, '2d7efbd796666785'],
    [4, 'b7877127e09427cf'], [7, '37d1018bf50002ab'], [8, '6224939a79f5f593'], [15, 'e545be4961ca29a1'],
  ]
  for (const [n, want] of vectors) {
    test(`a message of ${n} octets`, () => {
      const key = Buffer.from([...Array(16).keys()])
      const out = Buffer.alloc(8)
      siphash24(key, Buffer.from([...Array(n).keys()]), 0, n, out, 0)
      assert.equal(out.toString('hex'), want)
    })
  }
})

describe('RFC 9018 server cookies (Appendix A)', () => {
  const S1 = hex('e5e973e5a6b2a43f48e7dc849e37bfcf')
  const S2 = hex('445536bcd2513298075a5d379663c962')
  const S_OLD = hex('dd3bdf9344b678b185a6f5cb60fca715')
  test('A.1: a client cookie alone gets the appendix\'s server cookie', () => {
    const r = answerCookie({ current: S1, previous: undefined }, hex('2464c4abcf10c957'), 0, 8, '198.51.100.100', 1559731985)
    assert.equal(r.reply.toString('hex'), '2464c4abcf10c957010000005cf79f111f8130c3eee29480')
    assert.equal(r.verdict, Cookie.CLIENT_ONLY)
  })
  test('A.2: that cookie, 40 minutes later, is valid and renewed', () => {
    const r = answerCookie({ current: S1, previous: undefined }, hex('2464c4abcf10c957010000005cf79f111f8130c3eee29480'), 0, 24, '198.51.100.100', 1559734385)
    assert.equal(r.verdict, Cookie.VALID)
    assert.equal(r.reply.toString('hex'), '2464c4abcf10c957010000005cf7a871d4a564a1442aca77')
  })
  test('A.3: reserved octets set by another implementation are part of the hash', () => {
    const cookie = hex('fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5')
    // Within its hour it verifies; at the appendix's time (1 h 52 min after) it is too old, and
    // the reply carries the appendix's renewed cookie.
    assert.equal(answerCookie({ current: S1, previous: undefined }, cookie, 0, 24, '203.0.113.203', 0x5cf78f71 + 60).verdict, Cookie.VALID)
    const r = answerCookie({ current: S1, previous: undefined }, cookie, 0, 24, '203.0.113.203', 1559734700)
    assert.equal(r.verdict, Cookie.BAD)
    assert.equal(r.reply.toString('hex'), 'fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e')
  })
  test('the same cookie from another address is bad', () => {
    const r = answerCookie({ current: S1, previous: undefined }, hex('fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5'), 0, 24, '203.0.113.204', 0x5cf78f71 + 60)
    assert.equal(r.verdict, Cookie.BAD)
  })
  test('A.4: after a rotation the previous secret still verifies (IPv6), and the reply uses the new one', () => {
    const cookie = hex('22681ab97d52c298010000005cf7c57926556bd0934c72f8')
    const ip = '2001:db8:220:1:59de:d0f4:8769:82b8'
    assert.equal(answerCookie({ current: S2, previous: undefined }, cookie, 0, 24, ip, 1559741961).verdict, Cookie.BAD)
    const r = answerCookie({ current: S2, previous: S_OLD }, cookie, 0, 24, ip, 1559741961)
    assert.equal(r.verdict, Cookie.VALID)
    assert.equal(r.reply.toString('hex'), '22681ab97d52c298010000005cf7c609a6bb79d16625507a')
  })
  test('a cookie holds for an hour, and from at most five minutes ahead', () => {
    const secrets = { current: S1, previous: undefined }
    const made = answerCookie(secrets, hex('2464c4abcf10c957'), 0, 8, '192.0.2.1', 1_000_000).reply
    const at = (now: number): number => answerCookie(secrets, made, 0, 24, '192.0.2.1', now).verdict
    assert.equal(at(1_000_000 + 3600), Cookie.VALID)
    assert.equal(at(1_000_000 + 3601), Cookie.BAD)
    assert.equal(at(1_000_000 - 300), Cookie.VALID)
    assert.equal(at(1_000_000 - 301), Cookie.BAD)
  })
  test('option lengths: 8, or 16 to 40 octets', () => {
    const ok = [...Array(48).keys()].filter(cookieLengthOk)
    assert.deepEqual(ok, [8, ...Array.from({ length: 25 }, (_, i) => 16 + i)])
  })
})

function cookieOf (reply: Buffer): Buffer | undefined {
  return decodeMessage(reply).opt?.options.find(o => o.code === COOKIE)?.data
}

describe('the responder', () => {
  let serving: Serving
  const now = 1_700_000_000_000
  const opts = { udpPayloadSize: 1232, now: () => now }
  before(async () => {
    const dir = await writeConfig({ 'zones/example.test.yaml': TEST_ZONE })
    const config = await loadConfig(join(dir, 'gslb.yaml'))
    serving = {
      answers: compileAnswers(config.zones),
      snapshot: { pools: [], byName: new Map(), geo: undefined },
      ecs: true,
      protocol: { cookies: { current: hex('000102030405060708090a0b0c0d0e0f'), previous: undefined }, serverId: Buffer.from('ns-test-1'), rateLimit: undefined },
    }
  })
  const ask = (q: Buffer, tcp = false, client = '192.0.2.1'): ReturnType<typeof decodeMessage> & { raw: Buffer } => {
    const out = respond(q, tcp, serving, opts, undefined, client) as Buffer
    const raw = tcp ? out.subarray(2) : out
    return { ...decodeMessage(raw), raw }
  }
  const withCookie = (data: Buffer, extra: QueryExtra = {}): Buffer => buildQuery({ name: 'www.example.test', edns: { options: [{ code: COOKIE, data }] }, ...extra })
  type QueryExtra = Partial<Parameters<typeof buildQuery>[0]>

  test('a client cookie alone: the answer, with the client cookie echoed and a 16-octet server cookie', () => {
    const r = ask(withCookie(hex('0102030405060708')))
    assert.equal(r.rcode, 0)
    assert.equal(r.answer.length, 2)
    const c = cookieOf(r.raw) as Buffer
    assert.equal(c.length, 24)
    assert.equal(c.subarray(0, 8).toString('hex'), '0102030405060708')
    assert.equal(c[8], 1)
    assert.equal(c.readUInt32BE(12), now / 1000)
  })
  test('the server cookie it got back is valid: the answer, and a renewed cookie', () => {
    const first = cookieOf(ask(withCookie(hex('0102030405060708'))).raw) as Buffer
    const r = ask(withCookie(first))
    assert.equal(r.rcode, 0)
    assert.equal(r.answer.length, 2)
    assert.deepEqual(cookieOf(r.raw)?.subarray(0, 8), first.subarray(0, 8))
  })
  test('a wrong server cookie over UDP: BADCOOKIE (23) with a fresh cookie, the question, no answer', () => {
    const r = ask(withCookie(hex('0102030405060708' + '01000000' + '00000000' + 'aaaaaaaaaaaaaaaa')))
    assert.equal(r.rcode, 23)
    assert.equal(r.question.length, 1)
    assert.equal(r.answer.length, 0)
    const fresh = cookieOf(r.raw) as Buffer
    assert.equal(fresh.length, 24)
    // The fresh one is accepted at once.
    assert.equal(ask(withCookie(fresh)).rcode, 0)
  })
  test('a wrong server cookie over TCP: the answer, with a fresh cookie', () => {
    const r = ask(withCookie(hex('0102030405060708aaaaaaaaaaaaaaaa')), true)
    assert.equal(r.rcode, 0)
    assert.equal(r.answer.length, 2)
    assert.equal(cookieOf(r.raw)?.length, 24)
  })
  test('a cookie made for another client address is bad', () => {
    const mine = cookieOf(ask(withCookie(hex('0102030405060708')), false, '192.0.2.1').raw) as Buffer
    assert.equal(ask(withCookie(mine), false, '192.0.2.2').rcode, 23)
  })
  for (const len of [0, 1, 7, 9, 15, 41, 48]) {
    test(`a COOKIE option of ${len} octets is FORMERR`, () => {
      const r = ask(withCookie(Buffer.alloc(len, 7)))
      assert.equal(r.rcode, 1)
    })
  }
  test('only the first COOKIE option counts (RFC 7873 §5.2)', () => {
    const q = buildQuery({ name: 'www.example.test', edns: { options: [{ code: COOKIE, data: hex('0102030405060708') }, { code: COOKIE, data: Buffer.alloc(3) }] } })
    const r = ask(q)
    assert.equal(r.rcode, 0)
    assert.equal(cookieOf(r.raw)?.subarray(0, 8).toString('hex'), '0102030405060708')
  })
  test('no question with a cookie: NOERROR, no question, our cookie (RFC 7873 §5.4)', () => {
    const q = withCookie(hex('0102030405060708'))
    const noQuestion = Buffer.concat([q.subarray(0, 12), q.subarray(12 + 18 + 4)])
    noQuestion.writeUInt16BE(0, 4)
    const r = ask(noQuestion)
    assert.equal(r.rcode, 0)
    assert.equal(r.question.length, 0)
    assert.equal(cookieOf(r.raw)?.length, 24)
  })
  test('no question with a cookie while cookies are off: FORMERR, as without a cookie', () => {
    const off = { ...serving, protocol: { cookies: undefined, serverId: undefined, rateLimit: undefined } }
    const q = withCookie(hex('0102030405060708'))
    const noQuestion = Buffer.concat([q.subarray(0, 12), q.subarray(12 + 18 + 4)])
    noQuestion.writeUInt16BE(0, 4)
    assert.equal(decodeMessage(respond(noQuestion, false, off, opts, undefined, '192.0.2.1') as Buffer).rcode, 1)
  })
  test('no question and no cookie stays FORMERR', () => {
    const q = buildQuery({ name: 'www.example.test' })
    const noQuestion = Buffer.concat([q.subarray(0, 12), q.subarray(12 + 18 + 4)])
    noQuestion.writeUInt16BE(0, 4)
    assert.equal(ask(noQuestion).rcode, 1)
  })
  test('cookies off: the option is ignored', () => {
    const off = { ...serving, protocol: { cookies: undefined, serverId: undefined, rateLimit: undefined } }
    const out = respond(withCookie(hex('0102030405060708aaaaaaaaaaaaaaaa')), false, off, opts, undefined, '192.0.2.1') as Buffer
    assert.equal(decodeMessage(out).rcode, 0)
    assert.equal(cookieOf(out), undefined)
  })
  test('ECS, COOKIE and NSID together: each option in the reply', () => {
    const q = buildQuery({ name: 'www.example.test', edns: { options: [{ code: 8, data: hex('00011800c63364') }, { code: COOKIE, data: hex('0102030405060708') }, { code: NSID, data: Buffer.alloc(0) }] } })
    const r = ask(q)
    assert.deepEqual(r.opt?.options.map(o => o.code), [8, COOKIE, NSID])
    assert.equal(r.opt?.options[2]?.data.toString(), 'ns-test-1')
  })
  test('NSID: the server id when asked, nothing when not', () => {
    const asked = ask(buildQuery({ name: 'www.example.test', edns: { options: [{ code: NSID, data: Buffer.alloc(0) }] } }))
    assert.equal(asked.opt?.options.find(o => o.code === NSID)?.data.toString(), 'ns-test-1')
    const not = ask(buildQuery({ name: 'www.example.test' }))
    assert.equal(not.opt?.options.length, 0)
  })
  for (const name of ['id.server', 'hostname.bind', 'ID.Server']) {
    test(`CH TXT ${name}: the server id`, () => {
      const r = ask(buildQuery({ name, type: 16, cls: 3 }))
      assert.equal(r.rcode, 0)
      assert.equal(r.aa, true)
      assert.equal(r.answer.length, 1)
      assert.equal(r.answer[0]?.class, 3)
      assert.equal(r.answer[0]?.rdata.subarray(1).toString(), 'ns-test-1')
    })
  }
  test('CH TXT version.bind, and id.server without a server id, are REFUSED', () => {
    assert.equal(ask(buildQuery({ name: 'version.bind', type: 16, cls: 3 })).rcode, 5)
    const none = { ...serving, protocol: { cookies: undefined, serverId: undefined, rateLimit: undefined } }
    assert.equal(decodeMessage(respond(buildQuery({ name: 'id.server', type: 16, cls: 3 }), false, none, opts) as Buffer).rcode, 5)
  })
})

describe('the cookie secret', () => {
  test('created once, 0600, and read back by the next process', async () => {
    const dir = await writeConfig({})
    const file = join(dir, 'var', 'cookie-secret')
    const a = cookieSecrets({ enabled: true, secret: undefined, previousSecret: undefined, secretFile: file })
    const b = cookieSecrets({ enabled: true, secret: undefined, previousSecret: undefined, secretFile: file })
    assert.deepEqual(a, b)
    assert.match(await readFile(file, 'utf8'), /^[0-9a-f]{32}\n$/)
  })
  test('a second line is the previous secret; a bad line is GSLB_E_COOKIE_SECRET naming the file and line', async () => {
    const dir = await writeConfig({ 'secret': '000102030405060708090a0b0c0d0e0f\nffeeddccbbaa99887766554433221100\n' })
    const s = cookieSecrets({ enabled: true, secret: undefined, previousSecret: undefined, secretFile: join(dir, 'secret') })
    assert.equal(s?.previous?.toString('hex'), 'ffeeddccbbaa99887766554433221100')
    await writeFile(join(dir, 'secret'), '000102030405060708090a0b0c0d0e0f\nnot hex\n')
    assert.throws(() => cookieSecrets({ enabled: true, secret: undefined, previousSecret: undefined, secretFile: join(dir, 'secret') }),
      (e: unknown) => e instanceof GslbError && e.code === 'GSLB_E_COOKIE_SECRET' && /secret: line 2 must be 32 hexadecimal digits/.test(e.message))
  })
  test('on a reload, an unreadable file keeps the secret serving (with a warning); a file with a bad secret refuses it', async () => {
    const dir = await writeConfig({})
    const opts = { enabled: true, secret: undefined, previousSecret: undefined, secretFile: join(dir, 'var', 'cookie-secret') }
    const { log, lines } = captureLogger()
    const source = new CookieSecretSource(log)
    const first = source.get(opts)
    await rename(join(dir, 'var'), join(dir, 'var.moved'))
    await writeFile(join(dir, 'var'), 'a file where the directory was')
    assert.deepEqual(source.get(opts), first)
    assert.ok(lines.some(l => l.msg === 'cannot read the DNS cookie secret; keeping the one serving'))
    await rename(join(dir, 'var'), join(dir, 'var.file'))
    await rename(join(dir, 'var.moved'), join(dir, 'var'))
    await writeFile(join(dir, 'var', 'cookie-secret'), 'nonsense\n')
    assert.throws(() => source.get(opts), /line 1 must be 32 hexadecimal digits/)
  })
  test('config: a secret that is not 32 hex digits, and previous_secret alone, are errors with positions', async () => {
    const dir = await writeConfig({ 'gslb.yaml': 'dns:\n  cookies:\n    secret: abc\n' })
    await assert.rejects(loadConfig(join(dir, 'gslb.yaml')), /gslb\.yaml:3:13: dns\.cookies\.secret: must be 32 hexadecimal digits/)
    await writeFile(join(dir, 'gslb.yaml'), 'dns:\n  cookies:\n    previous_secret: 000102030405060708090a0b0c0d0e0f\n')
    await assert.rejects(loadConfig(join(dir, 'gslb.yaml')), /dns\.cookies\.previous_secret: needs dns\.cookies\.secret/)
  })
})

describe('a live server', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack({
      'gslb.yaml': 'listen: { dns: ["127.0.0.1:0"] }\nzones: zones/\ndns:\n  server_id: node-a\n  cookies: { secret: 000102030405060708090a0b0c0d0e0f }\n',
      'zones/example.test.yaml': zone('  www: { A: 192.0.2.10 }\n'),
    })
  })
  after(async () => { await stack.close() })

  test('a server cookie round-trips over UDP; a wrong one gets BADCOOKIE; TCP answers with a fresh one', async () => {
    const first = await udpExchange(stack.port, buildQuery({ name: 'www.example.test', edns: { options: [{ code: COOKIE, data: hex('1122334455667788') }] } }))
    const cookie = cookieOf(first as Buffer) as Buffer
    assert.equal(cookie.length, 24)
    const again = await udpExchange(stack.port, buildQuery({ name: 'www.example.test', edns: { options: [{ code: COOKIE, data: cookie }] } }))
    assert.equal(decodeMessage(again as Buffer).rcode, 0)
    assert.equal(decodeMessage(again as Buffer).answer.length, 1)
    const wrong = Buffer.from(cookie); wrong[20] = (wrong[20] as number) ^ 0xff
    const bad = await udpExchange(stack.port, buildQuery({ name: 'www.example.test', edns: { options: [{ code: COOKIE, data: wrong }] } }))
    assert.equal(decodeMessage(bad as Buffer).rcode, 23)
    const [tcp] = await tcpExchange(stack.port, [buildQuery({ name: 'www.example.test', edns: { options: [{ code: COOKIE, data: wrong }] } })])
    assert.equal(decodeMessage(tcp as Buffer).rcode, 0)
  })
  test('the same secret in two servers: each accepts the other\'s cookies (two nodes, one secret)', async () => {
    const other = await startStack({
      'gslb.yaml': 'listen: { dns: ["127.0.0.1:0"] }\nzones: zones/\ndns:\n  cookies: { secret: 000102030405060708090a0b0c0d0e0f }\n',
      'zones/example.test.yaml': zone('  www: { A: 192.0.2.10 }\n'),
    })
    try {
      const first = await udpExchange(stack.port, buildQuery({ name: 'www.example.test', edns: { options: [{ code: COOKIE, data: hex('1122334455667788') }] } }))
      const cookie = cookieOf(first as Buffer) as Buffer
      const there = await udpExchange(other.port, buildQuery({ name: 'www.example.test', edns: { options: [{ code: COOKIE, data: cookie }] } }))
      assert.equal(decodeMessage(there as Buffer).rcode, 0)
    } finally { await other.close() }
  })
  test('NSID and CH TXT id.server name the node', async () => {
    const r = await udpExchange(stack.port, buildQuery({ name: 'www.example.test', edns: { options: [{ code: NSID, data: Buffer.alloc(0) }] } }))
    assert.equal(decodeMessage(r as Buffer).opt?.options.find(o => o.code === NSID)?.data.toString(), 'node-a')
    const ch = await udpExchange(stack.port, buildQuery({ name: 'id.server', type: 16, cls: 3 }))
    assert.equal(decodeMessage(ch as Buffer).answer[0]?.rdata.subarray(1).toString(), 'node-a')
  })
})
