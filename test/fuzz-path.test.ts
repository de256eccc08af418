/**
 * Property tests (fast-check, fixed seed: test/helpers/fuzz.ts) of normalizePath(), the redirect
 * path normaliser: it never throws; what it accepts is clean (a "/"-rooted path of URL-safe ASCII
 * with valid escapes, no empty, "." or ".." segment raw or encoded, no control character or
 * backslash raw or encoded); it is idempotent; and appended to a member's base URL, a URL parser
 * keeps it as it is, under that base. test/http-fuzz.test.ts checks the same promise end to end
 * with its own PRNG; these generate the targets with fast-check and shrink a failure.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { normalizePath } from '../src/http/location.js'
import { fullSearch, fuzzParams } from './helpers/fuzz.js'

/** Pieces that have broken redirectors: dot segments raw and encoded, slashes, escapes, controls, non-ASCII. */
const PIECES = ['/', '//', '\\', '.', '..', '%2e', '%2E', '%2e%2E', '.%2e', '%2f', '%5c', '%5C', '%0d%0a', '%00', '%7f', '%',
  '%zz', '%2', '%25', '%252e', '?', '#', '@', ':', ';', '~', ' ', '\t', '\r', '\n', '\0', '\x7f', 'é', '\u2028', '😀',
  '\ud800', 'a', 'pub', 'file.iso', 'http:', '//evil.example']
const target = fc.tuple(
  fc.constantFrom('/', '/', '/', '', 'http://evil.example/', '//'),
  fc.array(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...PIECES) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) }), { maxLength: 12 }),
).map(([head, parts]) => head + parts.join(''))
/** A target and where its path ends, as the HTTP front end calls it: at the first "?", else the end. */
const request = fc.oneof(target, fc.string({ unit: 'binary', maxLength: 40 })).map(t => {
  const q = t.indexOf('?')
  return { t, end: q === -1 ? t.length : q }
})

const SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/
const BASE = 'https://mirror.example.net/debian/'

function assertClean (path: string, why: string): void {
  assert.ok(path.startsWith('/'), `${why}: not rooted`)
  assert.match(path, SAFE, `${why}: a character a Location must not carry raw`)
  assert.doesNotMatch(path, /%(?![0-9A-F]{2})/, `${why}: a bad or lowercase percent-escape`)
  assert.doesNotMatch(path, /%(0[0-9A-F]|1[0-9A-F]|7F|5C)/, `${why}: an encoded control character or backslash`)
  assert.ok(!path.includes('//'), `${why}: an empty segment`)
  for (const seg of path.split('/')) {
    const dots = seg.replace(/%2e/gi, '.')
    assert.ok(dots !== '.' && dots !== '..', `${why}: a dot segment`)
  }
}

describe('normalizePath', () => {
  test('never throws, whatever the target and end', () => {
    fc.assert(fc.property(fc.oneof(target, fc.string({ unit: 'binary', maxLength: 40 })), fc.nat(), (t, n) => {
      normalizePath(t)
      normalizePath(t, n % (t.length + 1))
    }), fuzzParams(10_000))
  })

  test('an accepted path is clean, normalises to itself, and stays under a base URL', () => {
    let accepted = 0
    const params = fuzzParams<[{ t: string, end: number }]>(10_000)
    fc.assert(fc.property(request, ({ t, end }) => {
      const n = normalizePath(t, end)
      if (!n.ok) return
      accepted++
      const why = `${JSON.stringify(t)} → ${JSON.stringify(n.path)}`
      assertClean(n.path, why)
      assert.deepEqual(normalizePath(n.path), { ok: true, path: n.path }, `${why}: not idempotent`)
      // A URL parser removes dot segments (also %2e) and reads "\" as "/": it must find none to act on.
      const url = new URL(BASE + n.path.slice(1))
      assert.equal(url.origin, new URL(BASE).origin, `${why}: leaves the origin`)
      assert.equal(url.pathname, new URL(BASE).pathname + n.path.slice(1), `${why}: rewritten by a URL parser`)
    }), params)
    // The generator must reach both sides, or the property proves little.
    if (fullSearch(params)) assert.ok(accepted > (params.numRuns ?? 0) / 10 && accepted < (params.numRuns ?? 0) * 0.9, `accepted ${accepted}`)
  })

  test('a path of plain segments and dot segments resolves as a stack, and never above the root', () => {
    const segment = fc.constantFrom('a', 'b', 'c', '.', '..', '%2e', '%2E%2e', '')
    fc.assert(fc.property(fc.array(segment, { maxLength: 10 }), segs => {
      const t = `/${segs.join('/')}`
      const stack: string[] = []
      let climbs = false
      for (const s of segs) {
        const d = s.replace(/%2e/gi, '.')
        if (d === '' || d === '.') continue
        if (d === '..') { if (stack.length === 0) { climbs = true; break } stack.pop(); continue }
        stack.push(s)
      }
      const n = normalizePath(t)
      if (climbs) { assert.equal(n.ok, false, `${t} climbs above the root`); return }
      assert.ok(n.ok, t)
      assert.equal(n.path.replace(/\/$/, ''), `/${stack.join('/')}`.replace(/\/$/, ''), t)
    }), fuzzParams(2000))
  })
})
