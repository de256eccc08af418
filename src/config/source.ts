/**
 * Typed, located reads over a parsed YAML document. Validation code asks this module for a map, a
 * string, a duration... at a field path; every failure is recorded as a ConfigIssue pointing at the
 * node's line and column, and the caller gets `undefined` and carries on, so one run reports every
 * problem in a file instead of the first.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Scalar } from 'yaml'
import { ErrorCode, type ConfigIssue } from '../errors.js'
import { closest } from '../suggest.js'

/** A value node; `null` is a key with no value, `undefined` a key that is absent. */
export type YNode = Node | null | undefined

/**
 * `fields` as a `T` when every field was read; undefined when any is undefined (a field that failed
 * to read has already reported its error). Lets a reader collect every error before giving up.
 */
export function allRead<T extends object> (fields: { [K in keyof T]: T[K] | undefined }): T | undefined {
  for (const v of Object.values(fields)) if (v === undefined) return undefined
  return fields as T
}

export class Source {
  readonly file: string
  readonly root: YNode
  readonly issues: ConfigIssue[]
  readonly #lines: LineCounter

  constructor (file: string, text: string, issues: ConfigIssue[]) {
    this.file = file
    this.issues = issues
    this.#lines = new LineCounter()
    const doc = parseDocument(text, { lineCounter: this.#lines, uniqueKeys: true, prettyErrors: false })
    for (const e of doc.errors) {
      const at = this.#lines.linePos(e.pos[0])
      this.issues.push({ file, line: at.line, col: at.col, path: '', code: ErrorCode.YAML, message: e.message.split('\n')[0] ?? e.message })
    }
    this.root = doc.errors.length > 0 ? undefined : doc.contents
  }

  /** Line and column (1-based) where a node starts; the file start for a missing node. */
  position (node: YNode): { line: number, col: number } {
    const offset = node?.range?.[0]
    if (offset === undefined) return { line: 1, col: 1 }
    return this.#lines.linePos(offset)
  }

  error (node: YNode, path: string, code: ErrorCode, message: string): void {
    const { line, col } = this.position(node)
    this.issues.push({ file: this.file, line, col, path, code, message })
  }

  /**
   * A mapping with the allowed keys. Unknown keys are reported; the result maps each present key to
   * its value node and key node (for locating errors).
   */
  map (node: YNode, path: string, allowed: readonly string[]): Fields | undefined {
    node = deref(node)
    if (node === undefined) return undefined // absent: require() already reported it
    if (!isMap(node)) {
      this.error(node, path, ErrorCode.TYPE, `must be a mapping: got ${describe(node)}`)
      return undefined
    }
    const fields = new Fields(this, node, path)
    for (const pair of node.items) {
      const key = pair.key as YNode
      const name = isScalar(key) ? String(key.value) : undefined
      if (name === undefined) {
        this.error(key, path, ErrorCode.TYPE, 'keys must be plain scalars')
        continue
      }
      if (!allowed.includes(name)) {
        const guess = closest(name, allowed)
        this.error(key, join(path, name), ErrorCode.UNKNOWN_KEY,
          `unknown key "${name}"${guess === undefined ? '' : `; did you mean "${guess}"?`} (allowed: ${allowed.join(', ')})`)
        continue
      }
      fields.set(name, key as Node, pair.value as YNode)
    }
    return fields
  }

  /** A mapping whose keys are names chosen by the user (zone owners, pool names). */
  entries (node: YNode, path: string): Array<{ key: string, keyNode: Node, value: YNode }> | undefined {
    node = deref(node)
    if (node === undefined) return undefined // absent: require() already reported it
    if (!isMap(node)) {
      this.error(node, path, ErrorCode.TYPE, `must be a mapping: got ${describe(node)}`)
      return undefined
    }
    const out: Array<{ key: string, keyNode: Node, value: YNode }> = []
    for (const pair of node.items) {
      const key = pair.key as YNode
      if (!isScalar(key) || key.value === null || typeof key.value === 'object') {
        this.error(key, path, ErrorCode.TYPE, 'keys must be plain scalars')
        continue
      }
      out.push({ key: String(key.value), keyNode: key, value: pair.value as YNode })
    }
    return out
  }

  /** A sequence; a single scalar or mapping counts as a list of one when `single` is true. */
  list (node: YNode, path: string, single = true): Array<{ node: YNode, path: string }> | undefined {
    node = deref(node)
    if (node === undefined) return undefined // absent: require() already reported it
    if (isSeq(node)) return node.items.map((item, i) => ({ node: item as YNode, path: `${path}[${i}]` }))
    if (single && node !== null && node !== undefined) return [{ node, path }]
    this.error(node, path, ErrorCode.TYPE, `must be a list: got ${describe(node)}`)
    return undefined
  }

  string (node: YNode, path: string): string | undefined {
    node = deref(node)
    if (node === undefined) return undefined // absent: require() already reported it
    if (isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number')) {
      return String(node.value)
    }
    this.error(node, path, ErrorCode.TYPE, `must be a string: got ${describe(node)}`)
    return undefined
  }

  boolean (node: YNode, path: string): boolean | undefined {
    node = deref(node)
    if (node === undefined) return undefined // absent: require() already reported it
    if (isScalar(node) && typeof node.value === 'boolean') return node.value
    this.error(node, path, ErrorCode.TYPE, `must be true or false: got ${describe(node)}`)
    return undefined
  }

  integer (node: YNode, path: string, min: number, max: number): number | undefined {
    node = deref(node)
    if (node === undefined) return undefined // absent: require() already reported it
    const value = isScalar(node) ? node.value : undefined
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.error(node, path, ErrorCode.TYPE, `must be an integer: got ${describe(node)}`)
      return undefined
    }
    if (value < min || value > max) {
      this.error(node, path, ErrorCode.VALUE, `must be between ${min} and ${max}: got ${value}`)
      return undefined
    }
    return value
  }

  /** `250ms`, `2s`, `1m`, `1h`, `1d`: returns milliseconds. A bare number is refused: units are required. */
  duration (node: YNode, path: string, minMs: number, maxMs: number): number | undefined {
    node = deref(node)
    if (node === undefined) return undefined // absent: require() already reported it
    const text = isScalar(node) ? String(node.value) : undefined
    const ms = text === undefined ? undefined : parseDuration(text)
    if (ms === undefined) {
      this.error(node, path, ErrorCode.VALUE, `must be a duration such as ${DURATION_EXAMPLES}: got ${describe(node)}`)
      return undefined
    }
    if (ms < minMs || ms > maxMs) {
      this.error(node, path, ErrorCode.VALUE, `must be between ${formatMs(minMs)} and ${formatMs(maxMs)}: got ${text}`)
      return undefined
    }
    return ms
  }

  /** One of a fixed set of words. */
  oneOf<T extends string> (node: YNode, path: string, choices: readonly T[]): T | undefined {
    const text = this.string(node, path)
    if (text === undefined) return undefined
    if ((choices as readonly string[]).includes(text)) return text as T
    this.error(node, path, ErrorCode.VALUE, `must be one of ${choices.join(', ')}: got "${text}"`)
    return undefined
  }
}

/** The present fields of a validated mapping. */
export class Fields {
  readonly #src: Source
  readonly #values = new Map<string, { key: Node, value: YNode }>()
  readonly node: Node
  readonly path: string

  constructor (src: Source, node: Node, path: string) {
    this.#src = src
    this.node = node
    this.path = path
  }

  set (name: string, key: Node, value: YNode): void { this.#values.set(name, { key, value }) }
  has (name: string): boolean { return this.#values.has(name) }
  names (): string[] { return [...this.#values.keys()] }
  /** The value node (null for `key:` with nothing after it), or undefined when absent. */
  get (name: string): YNode { return this.#values.get(name)?.value }
  keyNode (name: string): Node | undefined { return this.#values.get(name)?.key }
  at (name: string): string { return join(this.path, name) }

  /** `read` the field when present, else `fallback`; undefined when present but invalid (reported). */
  opt<T> (name: string, read: (node: YNode, path: string) => T | undefined, fallback: T): T | undefined {
    return this.#values.has(name) ? read(this.get(name), this.at(name)) : fallback
  }

  /** The value node, reporting a missing-field error when absent. */
  require (name: string): YNode {
    if (!this.#values.has(name)) {
      this.#src.error(this.node, this.path, ErrorCode.REQUIRED, `missing required key "${name}"`)
      return undefined
    }
    return this.get(name)
  }
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

export const DURATION_EXAMPLES = '500ms, 2s, 1.5m, 1h or 1d'

/**
 * The one duration syntax of gslb, in the configuration, the admin API and the CLI: a number and
 * a unit (ms, s, m, h, d). Milliseconds, or undefined for anything else.
 */
export function parseDuration (text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text)
  return m === null ? undefined : Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS])
}

export function formatMs (ms: number): string {
  if (ms % 3_600_000 === 0 && ms >= 3_600_000) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`
  if (ms % 1000 === 0 && ms >= 1000) return `${ms / 1000}s`
  return `${ms}ms`
}

export function join (path: string, key: string): string {
  const safe = /^[A-Za-z0-9_@*-]+$/.test(key) ? key : JSON.stringify(key)
  return path === '' ? safe : `${path}.${safe}`
}

function deref (node: YNode): YNode {
  // YAML aliases (*name) are not followed: type checks then report "got an alias".
  return node
}

export function describe (node: YNode): string {
  if (node === null || node === undefined) return 'nothing'
  if (isMap(node)) return 'a mapping'
  if (isSeq(node)) return 'a list'
  if (isScalar(node)) {
    const v = (node as Scalar).value
    if (v === null) return 'nothing'
    return typeof v === 'string' ? JSON.stringify(v) : String(v)
  }
  return 'an alias'
}
