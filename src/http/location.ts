/**
 * Safe redirect targets. The Location header is built only from a configured member URL plus the
 * request path normalised here, never from the Host header or an absolute-form request target.
 * normalizePath() rejects what could escape or split a header (backslashes, control characters
 * raw or percent-encoded, bad escapes), removes dot segments (also "%2e"), collapses "//" (so
 * "//evil.example" cannot become a protocol-relative URL) and percent-encodes every character
 * that is not safe in a URL path.
 */

export type Normalized = { ok: true, path: string } | { ok: false, reason: string }

const HEX = '0123456789ABCDEF'
/** Characters allowed as they are: RFC 3986 pchar (and, in queries, "/" and "?"); "%" is checked apart. */
const PATH_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@"
const SAFE_PATH = table(PATH_CHARS)
const SAFE_QUERY = table(`${PATH_CHARS}/?`)

function table (chars: string): Uint8Array {
  const t = new Uint8Array(128)
  for (const c of chars) t[c.charCodeAt(0)] = 1
  return t
}

/**
 * The escape for the character at `i`, and how many UTF-16 units it took. Latin-1 is one byte (Node
 * hands over a request target's bytes as latin1); above it UTF-8: a surrogate pair as one code
 * point, and a lone surrogate, which encodeURIComponent() throws on, as U+FFFD (as URL parsers do).
 */
function encodeAt (text: string, i: number): [string, number] {
  const code = text.charCodeAt(i)
  if (code <= 0xff) return [`%${HEX[code >> 4] as string}${HEX[code & 15] as string}`, 1]
  const point = text.codePointAt(i) as number
  if (point > 0xffff) return [encodeURIComponent(String.fromCodePoint(point)), 2]
  return [encodeURIComponent(code >= 0xd800 && code <= 0xdfff ? '\ufffd' : text[i] as string), 1]
}

/** Keep valid %XX escapes (uppercased), encode anything outside `safe`; undefined on a bad escape. */
function clean (text: string, safe: Uint8Array): string | undefined {
  let plain = true
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 128 || safe[c] !== 1) { plain = false; break }
  }
  if (plain) return text
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    const code = c.charCodeAt(0)
    if (c === '%') {
      const hex = text.slice(i + 1, i + 3)
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined
      out += `%${hex.toUpperCase()}`
      i += 2
    } else if (code < 128 && safe[code] === 1) {
      out += c
    } else {
      const [escaped, width] = encodeAt(text, i)
      out += escaped
      i += width - 1
    }
  }
  return out
}

/**
 * A request target whose path needs no work: segments of safe characters, none empty or starting
 * with ".", and no "%"; the match stops at the "?" or the end. Most request paths are like this
 * and skip the splitting below. One regular expression, compiled to machine code by V8, scans the
 * path about twice as fast as a loop over its characters (and scans the target itself, not a
 * slice of it).
 */
const NORMAL_TARGET = normalPathPattern('(?:\\?|$)')
/** The same for a whole string: a path with no query. */
const NORMAL_PATH = normalPathPattern('$')

/** Segments: "/", a PATH_CHARS character other than ".", then any PATH_CHARS; then `end`. */
function normalPathPattern (end: string): RegExp {
  const cls = (chars: string): string => `[${chars.replace(/[-\\\]^]/g, '\\$&')}]`
  return new RegExp(`^(?:\\/${cls(PATH_CHARS.replace('.', ''))}${cls(PATH_CHARS)}*)*\\/?${end}`)
}

/** The path part of a request target: `target` up to `end`, its first "?" or its length. */
export function normalizePath (target: string, end = target.length): Normalized {
  if (target.charCodeAt(0) !== 47) return { ok: false, reason: 'the request target must be a path' }
  if (end === target.length ? NORMAL_PATH.test(target) : target.charCodeAt(end) === 63 && NORMAL_TARGET.test(target)) {
    return { ok: true, path: end === target.length ? target : target.slice(0, end) }
  }
  const raw = end === target.length ? target : target.slice(0, end)
  // Raw control characters, backslashes, or their encodings (CR, LF, NUL, "\").
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f\\]/.test(raw) || /%(0[0-9a-f]|1[0-9a-f]|7f|5c)/i.test(raw)) {
    return { ok: false, reason: 'control characters and backslashes are not allowed in the path' }
  }
  const out: string[] = []
  const segments = raw.split('/')
  for (const seg of segments) {
    if (seg === '') continue
    const dots = seg.replace(/%2e/gi, '.')
    if (dots === '.') continue
    if (dots === '..') {
      if (out.length === 0) return { ok: false, reason: 'the path climbs above the root' }
      out.pop()
      continue
    }
    const c = clean(seg, SAFE_PATH)
    if (c === undefined) return { ok: false, reason: 'the path has a bad percent-escape' }
    out.push(c)
  }
  const trailing = raw.length > 1 && raw.endsWith('/') && out.length > 0
  return { ok: true, path: `/${out.join('/')}${trailing ? '/' : ''}` }
}

/** A query string made safe for a Location header; undefined when it has a bad escape. */
export function cleanQuery (raw: string): string | undefined {
  return clean(raw, SAFE_QUERY)
}

/**
 * What a redirect target adds to a member's base URL (which ends in "/"): the normalised path
 * under the route prefix, then the query when there is one. The same tail serves every member.
 */
export function pathTail (path: string, prefix: string, query: string | undefined): string {
  const rest = path.length > prefix.length ? path.slice(prefix.length) : ''
  return query === undefined || query === '' ? rest : `${rest}?${query}`
}
