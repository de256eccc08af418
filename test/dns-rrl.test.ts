/**
 * Response rate limiting (dns/rrl.ts): the limiter's decisions on an injected clock (classes,
 * slip, exemptions, the bounded table, per-process shares), then a live server under a flood of
 * 20,000 queries from one /24 while a client from another network and TCP are not limited.
 */
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { after, before, describe, test } from 'node:test'
import type { RateLimitOptions } from '../src/config/model.js'
import { RATE_LIMIT_DEFAULTS } from '../src/config/dns.js'
import { Cookie } from '../src/dns/cookies.js'
import { decodeMessage } from '../src/dns/decode.js'
import { Limit, RateLimiter, slipped, Verdict } from '../src/dns/rrl.js'
import { newOutcome, type QueryOutcome } from '../src/dns/stats.js'
import { wireKey } from '../src/dns/answer-index.js'
import { parseCidr, type Cidr } from '../src/net/cidr.js'
import { buildQuery, tcpExchange, udpExchange } from './helpers/dns.js'
import { startStack, writeConfig, zone, type Stack } from './helpers/stack.js'
import { loadConfig } from '../src/config/load.js'
import { restartNeeded } from '../src/config/restart.js'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const opts = (o: Partial<RateLimitOptions> = {}): RateLimitOptions => ({ ...RATE_LIMIT_DEFAULTS, exempt: [], ...o })

/** What respond() reports for an answer to `name` (type A), or for the other response classes. */
function answer (name: string, qtype = 1): QueryOutcome {
  return { ...newOutcome(), rcode: 0, qtype, key: wireKey(name) }
}
const nxdomain = (name: string): QueryOutcome => ({ ...answer(name), rcode: 3, limitAs: { kind: Limit.NXDOMAIN, name: 'example.test' } })
const refused = (name: string): QueryOutcome => ({ ...answer(name), rcode: 5 })

function tally (rrl: RateLimiter, client: string, o: () => QueryOutcome, n: number): { send: number, slip: number, drop: number } {
  const t = { send: 0, slip: 0, drop: 0 }
  for (let i = 0; i < n; i++) {
    const v = rrl.check(client, o())
    if (v === Verdict.SEND) t.send++; else if (v === Verdict.SLIP) t.slip++; else t.drop++
  }
  return t
}

describe('the limiter', () => {
  test('one network, one name: a second of credit, then every second limited response slips', () => {
    const clock = { t: 1_000_000 }
    const rrl = new RateLimiter(opts(), 1, undefined, () => clock.t)
    assert.deepEqual(tally(rrl, '198.51.100.7', () => answer('www.example.test'), 100), { send: 20, slip: 40, drop: 40 })
    assert.deepEqual(rrl.counts, { dropped: 40, slipped: 40, logged: 0 })
    clock.t += 500 // half a second: ten more
    assert.equal(tally(rrl, '198.51.100.200', () => answer('www.example.test'), 30).send, 10)
    clock.t += 60_000 // a long quiet: the bucket is full again, no more
    assert.equal(tally(rrl, '198.51.100.9', () => answer('www.example.test'), 100).send, 20)
  })
  test('another network, another name or type: other buckets', () => {
    const rrl = new RateLimiter(opts(), 1, undefined, () => 0)
    tally(rrl, '198.51.100.7', () => answer('www.example.test'), 100)
    assert.equal(tally(rrl, '198.51.101.7', () => answer('www.example.test'), 20).send, 20)
    assert.equal(tally(rrl, '198.51.100.7', () => answer('mail.example.test'), 20).send, 20)
    assert.equal(tally(rrl, '198.51.100.7', () => answer('www.example.test', 28), 20).send, 20)
  })
  test('NXDOMAIN for random names in one zone is one bucket, at nxdomains_per_second', () => {
    const rrl = new RateLimiter(opts({ nxdomainsPerSecond: 5 }), 1, undefined, () => 0)
    let i = 0
    assert.equal(tally(rrl, '198.51.100.7', () => nxdomain(`x${i++}.example.test`), 100).send, 5)
  })
  test('errors for any name are one bucket per network, at errors_per_second', () => {
    const rrl = new RateLimiter(opts({ errorsPerSecond: 3 }), 1, undefined, () => 0)
    let i = 0
    assert.equal(tally(rrl, '198.51.100.7', () => refused(`x${i++}.example.org`), 50).send, 3)
  })
  test('a rate of 0 leaves that class unlimited', () => {
    const rrl = new RateLimiter(opts({ responsesPerSecond: 0, nxdomainsPerSecond: 0, errorsPerSecond: 0 }), 1, undefined, () => 0)
    assert.equal(tally(rrl, '198.51.100.7', () => answer('www.example.test'), 500).send, 500)
  })
  test('a valid server cookie and exempt networks are not limited', () => {
    const rrl = new RateLimiter(opts({ exempt: [parseCidr('198.51.100.0/25') as Cidr, parseCidr('2001:db8::/32') as Cidr] }), 1, undefined, () => 0)
    assert.equal(tally(rrl, '198.51.100.7', () => answer('www.example.test'), 100).send, 100)
    assert.equal(tally(rrl, '2001:db8::1', () => answer('www.example.test'), 100).send, 100)
    assert.equal(tally(rrl, '198.51.100.200', () => answer('www.example.test'), 100).send, 20)
    assert.equal(tally(rrl, '198.51.100.201', () => ({ ...answer('www.example.test'), cookie: Cookie.VALID }), 100).send, 100)
    assert.equal(tally(rrl, '198.51.100.202', () => ({ ...answer('www.example.test'), cookie: Cookie.CLIENT_ONLY }), 10).send, 0)
  })
  test('IPv6 networks are /56 by default; IPv4-mapped addresses count as IPv4', () => {
    const rrl = new RateLimiter(opts(), 1, undefined, () => 0)
    tally(rrl, '2001:db8:0:ab00::1', () => answer('www.example.test'), 20)
    assert.equal(tally(rrl, '2001:db8:0:abff::2', () => answer('www.example.test'), 5).send, 0)
    assert.equal(tally(rrl, '2001:db8:0:ac00::1', () => answer('www.example.test'), 5).send, 5)
    tally(rrl, '198.51.100.7', () => answer('www.example.test'), 20)
    assert.equal(tally(rrl, '::ffff:198.51.100.8', () => answer('www.example.test'), 5).send, 0)
  })
  test('prefix lengths are configurable', () => {
    const rrl = new RateLimiter(opts({ ipv4Prefix: 32 }), 1, undefined, () => 0)
    tally(rrl, '198.51.100.7', () => answer('www.example.test'), 20)
    assert.equal(tally(rrl, '198.51.100.8', () => answer('www.example.test'), 5).send, 5)
  })
  test('slip 0 drops every limited response; slip 1 truncates every one', () => {
    const none = new RateLimiter(opts({ slip: 0 }), 1, undefined, () => 0)
    assert.deepEqual(tally(none, '198.51.100.7', () => answer('www.example.test'), 30), { send: 20, slip: 0, drop: 10 })
    const all = new RateLimiter(opts({ slip: 1 }), 1, undefined, () => 0)
    assert.deepEqual(tally(all, '198.51.100.7', () => answer('www.example.test'), 30), { send: 20, slip: 10, drop: 0 })
  })
  test('log_only sends everything and counts what it would have limited', () => {
    const rrl = new RateLimiter(opts({ logOnly: true }), 1, undefined, () => 0)
    assert.equal(tally(rrl, '198.51.100.7', () => answer('www.example.test'), 50).send, 50)
    assert.deepEqual(rrl.counts, { dropped: 0, slipped: 0, logged: 30 })
  })
  test('with --workers 2 each process allows half the rate', () => {
    const rrl = new RateLimiter(opts(), 2, undefined, () => 0)
    assert.equal(tally(rrl, '198.51.100.7', () => answer('www.example.test'), 50).send, 10)
  })
  test('the table is bounded, and the least recently used bucket goes first', () => {
    const clock = { t: 0 }
    const rrl = new RateLimiter(opts({ maxTableSize: 100 }), 1, undefined, () => clock.t)
    tally(rrl, '203.0.113.1', () => answer('www.example.test'), 20) // exhausted
    for (let i = 0; i < 1000; i++) {
      clock.t += 1000
      tally(rrl, '203.0.113.1', () => answer('www.example.test'), 20) // kept in use, stays exhausted
      rrl.check(`10.${i >> 8}.${i & 0xff}.1`, answer('www.example.test'))
      assert.ok(rrl.size <= 100)
    }
    assert.equal(tally(rrl, '203.0.113.1', () => answer('www.example.test'), 5).send, 0, 'the busy bucket was evicted')
    assert.equal(tally(rrl, '10.0.0.1', () => answer('www.example.test'), 1).send, 1, 'an old bucket was evicted and starts full')
  })
  test('a reload with new rates keeps the buckets; new prefix lengths start afresh', () => {
    const rrl = new RateLimiter(opts(), 1, undefined, () => 0)
    tally(rrl, '198.51.100.7', () => answer('www.example.test'), 20)
    rrl.configure(opts({ slip: 0 }))
    assert.deepEqual(tally(rrl, '198.51.100.7', () => answer('www.example.test'), 4), { send: 0, slip: 0, drop: 4 })
    rrl.configure(opts({ ipv4Prefix: 16 }))
    assert.equal(rrl.size, 0)
  })
  test('a slipped reply: the id, question and TC=1, nothing else', () => {
    const q = buildQuery({ id: 0x1234, name: 'www.example.test', edns: {} })
    const r = slipped(Buffer.concat([Buffer.from([0x12, 0x34, 0x84, 0x03, 0, 1, 0, 2, 0, 1, 0, 1]), q.subarray(12, 12 + 22), Buffer.alloc(40)]))
    const m = decodeMessage(r)
    assert.equal(m.id, 0x1234)
    assert.equal(m.tc, true)
    assert.equal(m.rcode, 0)
    assert.deepEqual(m.question, [{ name: 'www.example.test.', type: 1, class: 1 }])
    assert.equal(m.answer.length + m.authority.length + m.additional.length, 0)
    assert.equal(r.length, 12 + 22)
  })
})

describe('reloads', () => {
  test('rate_limit, cookies and server_id apply on reload; other dns settings need a restart', async () => {
    const dir = await writeConfig({ 'zones/example.test.yaml': zone() })
    const file = join(dir, 'gslb.yaml')
    const load = async (dns: string): Promise<Awaited<ReturnType<typeof loadConfig>>> => {
      await writeFile(file, `listen: { dns: ["127.0.0.1:0"] }\nzones: zones/\ndns: ${dns}\n`)
      return await loadConfig(file)
    }
    const before = await load('{ rate_limit: { responses_per_second: 20 } }')
    assert.deepEqual(restartNeeded(before, await load('{ rate_limit: { responses_per_second: 5, slip: 1 }, server_id: a, cookies: { enabled: false } }')), [])
    assert.deepEqual(restartNeeded(before, await load('{ rate_limit: { responses_per_second: 20 }, max_tcp_per_client: 5 }')), ['dns'])
  })
})

/** Send `n` copies of `msg` from `from` at `perSecond`, then collect replies until 500 ms of silence. */
async function flood (port: number, from: string, msg: Buffer, n: number, perSecond: number): Promise<{ full: number, tc: number, ms: number }> {
  const sock = createSocket('udp4')
  await new Promise<void>(resolve => sock.bind({ address: from, port: 0 }, resolve))
  const got = { full: 0, tc: 0, ms: 0 }
  let quiet: NodeJS.Timeout | undefined
  const done = new Promise<void>(resolve => {
    const arm = (): void => { clearTimeout(quiet); quiet = setTimeout(resolve, 500) }
    sock.on('message', m => { if (((m[2] as number) & 0x02) !== 0) got.tc++; else got.full++; arm() })
    sock.once('sent', arm)
  })
  const start = Date.now()
  for (let sent = 0; sent < n;) {
    for (let i = 0; i < 200 && sent < n; i++, sent++) sock.send(msg, port, '127.0.0.1')
    // Paced at `perSecond`: a flood the server keeps up with, so that every packet is decided.
    const due = start + sent * 1000 / perSecond - Date.now()
    await new Promise(resolve => due > 0 ? setTimeout(resolve, due) : setImmediate(resolve))
  }
  got.ms = Date.now() - start
  sock.emit('sent')
  await done
  sock.close()
  return got
}

describe('a live server under a flood from one /24', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack({
      'gslb.yaml': 'listen: { dns: ["127.0.0.1:0"] }\nzones: zones/\ndns:\n  rate_limit: { responses_per_second: 20, slip: 2, exempt: [] }\n',
      'zones/example.test.yaml': zone('  www: { A: 192.0.2.10 }\n  "*.names": { A: 192.0.2.11 }\n'),
    })
  })
  after(async () => { await stack.close() })

  test('20,000 queries from 127.0.66.1: cut to the rate, every second limited reply truncated; another network and TCP see no loss', async () => {
    const q = buildQuery({ name: 'www.example.test', edns: false })
    // A resolver elsewhere, asking for 50 names (each its own bucket) while the flood runs.
    const other = (async () => {
      let full = 0
      for (let i = 0; i < 50; i++) {
        const r = await udpExchange(stack.port, buildQuery({ name: `n${i}.names.example.test` }), '127.0.0.1', 2000)
        if (r !== undefined && !decodeMessage(r).tc && decodeMessage(r).answer.length === 1) full++
      }
      return full
    })()
    const f = await flood(stack.port, '127.0.66.1', q, 20_000, 20_000)
    const counts = stack.app.dns.counters.rrl
    // The rate, plus the one second of credit a bucket starts with.
    const allowed = 20 * (f.ms / 1000 + 1) + 20
    assert.ok(f.full >= 20 && f.full <= allowed, `full answers ${f.full}, expected 20..${allowed} in ${f.ms} ms`)
    assert.ok(Math.abs(counts.slipped - counts.dropped) <= 1, `slipped ${counts.slipped}, dropped ${counts.dropped}: every second one slips`)
    assert.ok(counts.slipped + counts.dropped + f.full >= 19_000, `the server saw ${counts.slipped + counts.dropped + f.full} of 20,000`)
    assert.ok(f.tc >= counts.slipped * 0.95 && f.tc <= counts.slipped, `truncated replies ${f.tc}, slipped ${counts.slipped}`)
    // The client from 127.0.0.1 shares no bucket with 127.0.66.0/24.
    assert.equal(await other, 50)
    // TCP from the flooding network is never limited.
    const over = await tcpExchange(stack.port, Array.from({ length: 30 }, () => buildQuery({ name: 'www.example.test' })), '127.0.0.1', 3000, '127.0.66.1')
    assert.equal(over.filter(r => decodeMessage(r).answer.length === 1).length, 30)
  })
})
