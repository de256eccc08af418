/**
 * Bounded fuzzing of the redirect service's one safety promise: whatever the request target,
 * every URL it answers with (Location, each Link alternate, each mirror-list URL) is a configured
 * member's base URL followed by a clean path and query. Targets are built with a fixed seed from
 * pieces that have broken redirectors before (dot segments raw and encoded, slashes, backslashes,
 * CR/LF and NUL raw and encoded, bad escapes, absolute URLs, non-ASCII). normalizePath() is
 * checked in-process on many targets; a few hundred go over real sockets to a running server,
 * which must never answer 5xx and must still redirect at the end.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { normalizePath } from '../src/http/location.js'
import { rawExchange } from './helpers/http.js'
import { rng } from './helpers/rng.js'
import { startIn, writeConfig, zone, type Stack } from './helpers/stack.js'

const BASES = ['https://m1.example.net/debian/', 'https://m2.example.net/', 'http://m3.example.net/pub/']
const CONFIG = `listen: { dns: ["127.0.0.1:0"], http: "127.0.0.1:0", admin: "127.0.0.1:0" }
pools:
  mirrors:
    members:
      - { name: m1, url: "${BASES[0] as string}" }
      - { name: m2, url: "${BASES[1] as string}" }
      - { name: m3, url: "${BASES[2] as string}" }
  sticky:
    policy: hash
    members:
      - { name: c1, url: "${BASES[0] as string}" }
      - { name: c2, url: "${BASES[1] as string}" }
redirects:
  - { host: dl.example.test, path: /pub/, pool: mirrors, alternates: 2, allow_downgrade: true }
  - { host: dl.example.test, path: /noquery/, pool: mirrors, keep_query: false, allow_downgrade: true }
  - { host: dl.example.test, path: /, pool: sticky, affinity: path, status: 307 }
health: { coalesce: 0ms, state_file: state.json, startup_wait: 1s }
`

const PIECES = [
  '/', '/', '/', '//', '\\', '.', '..', '%2e', '%2E%2e', '.%2e', '%2f', '%2F', '%5c', '%5C', '%0d%0a', '%0D', '%00',
  '%7f', '%', '%zz', '%2', '%252e%252e', '%25', '@', ':', ';', '?', '??', '&', '=', '#', 'mirrorlist', '?mirrorlist',
  'evil.example', 'http:', 'https://evil.example', '//evil.example', '/\\evil.example', 'caf\u00e9', '\u00ff', '\u2028',
  '~', "'", '"', '<', '>', '{', '}', '|', '^', '`', '[', ']', '+', '*', '$', '!', ' ', '\t', '\r', '\n', '\0',
  'a', 'b', 'pub', 'noquery', 'debian', 'file.iso',
]
const PREFIXES = ['/pub/', '/pub', '/noquery/', '/', '', 'http://evil.example/pub/', '//evil.example/pub/']

function target (r: () => number): string {
  let t = PREFIXES[Math.floor(r() * PREFIXES.length)] as string
  const n = 1 + Math.floor(r() * 8)
  for (let i = 0; i < n; i++) t += PIECES[Math.floor(r() * PIECES.length)] as string
  return t
}

const URL_TAIL = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/

/** `url` is a configured base URL followed by a clean path (and query): the one safe shape of a redirect. */
function assertSafeUrl (url: string, why: string): void {
  const base = BASES.find(b => url.startsWith(b))
  assert.ok(base !== undefined, `${why}: ${JSON.stringify(url)} is not under a member URL`)
  assert.equal(new URL(url).origin, new URL(base).origin, `${why}: ${url} leaves the member's origin`)
  const tail = url.slice(base.length)
  assert.match(tail, URL_TAIL, `${why}: ${JSON.stringify(url)} has characters a Location must not carry raw`)
  assert.doesNotMatch(tail, /%(?![0-9A-F]{2})/, `${why}: ${url} has a bad percent-escape`)
  const q = tail.indexOf('?')
  const path = q === -1 ? tail : tail.slice(0, q)
  assert.ok(!path.startsWith('/') && !path.includes('//'), `${why}: ${url} has an empty path segment`)
  for (const seg of path.split('/')) {
    const dots = seg.replace(/%2e/gi, '.')
    assert.ok(dots !== '.' && dots !== '..', `${why}: ${url} has a dot segment`)
  }
}

describe('redirect fuzzing', () => {
  test('normalizePath: 20,000 targets; every accepted path is clean and normalises to itself', () => {
    const r = rng(0x600d5eed)
    let accepted = 0
    for (let i = 0; i < 20_000; i++) {
      const t = target(r)
      const q = t.indexOf('?')
      const n = normalizePath(t, q === -1 ? t.length : q)
      if (!n.ok) continue
      accepted++
      assert.ok(n.path.startsWith('/'), JSON.stringify(t))
      assertSafeUrl(`https://m2.example.net${n.path}`, JSON.stringify(t)) // BASES[1] is the origin plus "/"
      const again = normalizePath(n.path)
      assert.deepEqual(again, { ok: true, path: n.path }, `not idempotent: ${JSON.stringify(t)} → ${n.path}`)
    }
    // The generator must reach both sides, or the test proves nothing.
    assert.ok(accepted > 2_000 && accepted < 18_000, `accepted ${accepted} of 20,000`)
  })

  describe('over real sockets', () => {
    let stack: Stack
    let port: number
    before(async () => {
      stack = await startIn(await writeConfig({ 'gslb.yaml': CONFIG, 'zones/example.test.yaml': zone() }))
      port = (stack.app.http?.app.server.address() as { port: number }).port
    })
    after(async () => { await stack.close() })

    test('600 fuzzed targets: no 5xx; every Location, Link and mirror-list URL is under a member URL, clean', async () => {
      const r = rng(0xbadc0de)
      const targets = Array.from({ length: 600 }, () => target(r))
      const statuses = new Map<number, number>()
      let next = 0
      const worker = async (): Promise<void> => {
        while (next < targets.length) {
          const t = targets[next++] as string
          const why = `GET ${JSON.stringify(t)}`
          const res = await rawExchange(port, `GET ${t} HTTP/1.1\r\nHost: dl.example.test\r\nConnection: close\r\n\r\n`)
          const head = res.slice(0, res.indexOf('\r\n\r\n'))
          const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1])
          assert.ok(status >= 200 && status < 500, `${why}: status line ${JSON.stringify(head.split('\r\n')[0])}`)
          statuses.set(status, (statuses.get(status) ?? 0) + 1)
          for (const line of head.split('\r\n').slice(1)) {
            const [name, value] = [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]
            if (name === 'location') assertSafeUrl(value, why)
            if (name === 'link') for (const m of value.matchAll(/<([^>]*)>/g)) assertSafeUrl(m[1] as string, `${why} (Link)`)
          }
          if (status === 200) {
            const list = JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4)) as { chosen: { url: string } | null, alternates: Array<{ url: string }> }
            for (const u of [list.chosen?.url, ...list.alternates.map(a => a.url)]) if (u !== undefined) assertSafeUrl(u, `${why} (mirror list)`)
          }
        }
      }
      await Promise.all(Array.from({ length: 8 }, worker))
      // Both outcomes must be exercised: redirects (302 and the sticky route's 307) and refusals.
      assert.ok((statuses.get(302) ?? 0) > 50 && (statuses.get(307) ?? 0) > 20 && (statuses.get(400) ?? 0) > 50, JSON.stringify([...statuses]))
      const after = await rawExchange(port, 'GET /pub/x HTTP/1.1\r\nHost: dl.example.test\r\nConnection: close\r\n\r\n')
      assert.match(after, /^HTTP\/1\.1 302 /)
    })
  })
})
