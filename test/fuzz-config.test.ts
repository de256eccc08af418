/**
 * Property tests (fast-check, fixed seed: test/helpers/fuzz.ts) of the config loader: whatever
 * YAML text is in gslb.yaml or a zone file, loadConfig() gives a configuration or a ConfigError
 * whose every issue is located (file:line:col, in one of the files read) and formats as one
 * line; never another exception. Inputs: any text, YAML-looking token soup, the shipped files
 * with tokens spliced in, and the shipped files parsed, edited (fields deleted, replaced, added
 * with values close to the schema) and written back with `yaml`.
 */
import assert from 'node:assert/strict'
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import { parse, stringify } from 'yaml'
import { loadConfig } from '../src/config/load.js'
import { ConfigError, formatIssue } from '../src/errors.js'
import { fuzzParams } from './helpers/fuzz.js'

const ROOT = join(import.meta.dirname, '..', '..')
const MAIN = 'gslb.yaml'
const ZONE = join('zones', 'example.test.yaml')

let dir: string
const shipped: Record<string, string> = {}
/** What each file holds now, so a run writes only what changed. */
const onDisk: Record<string, string> = {}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gslb-fuzz-config-'))
  for (const d of ['zones', 'geo']) await cp(join(ROOT, d), join(dir, d), { recursive: true })
  for (const f of [MAIN, ZONE]) shipped[f] = await readFile(join(ROOT, f), 'utf8')
  await writeFile(join(dir, MAIN), shipped[MAIN] as string)
  Object.assign(onDisk, shipped)
})
after(async () => { await rm(dir, { recursive: true, force: true }) })

/** Write `text` as `file` (the other file as shipped), load, and check the outcome's contract. */
async function loadsOrLocates (file: string, text: string): Promise<void> {
  for (const f of [MAIN, ZONE]) {
    const want = f === file ? text : shipped[f] as string
    if (onDisk[f] !== want) await writeFile(join(dir, f), want)
    onDisk[f] = want
  }
  let err: unknown
  try {
    await loadConfig(join(dir, MAIN))
    return
  } catch (e) {
    err = e
  }
  if (!(err instanceof ConfigError)) throw err
  assert.ok(err.issues.length > 0, 'a ConfigError with no issue')
  for (const i of err.issues) {
    const shown = formatIssue(i)
    assert.ok(i.file.startsWith(dir), `not in a file read: ${shown}`)
    assert.ok(Number.isInteger(i.line) && i.line >= 1 && Number.isInteger(i.col) && i.col >= 1, `no position: ${shown}`)
    assert.match(shown, /^\S+:\d+:\d+: .+ \[GSLB_E_[A-Z_]+\]$/, `not one located line: ${JSON.stringify(shown)}`)
  }
}

const TOKENS = [
  'listen', 'zones', 'dns', 'pools', 'members', 'web', 'address', 'records', 'zone', 'soa', 'www', 'A', 'CNAME', '@',
  ':', ': ', '\n', '\n  ', '  ', '- ', '-', '{', '}', '[', ']', ',', '"', "'", '&a ', '*a', '<<: *a', '!!str ', '!!int ',
  '!!binary ', '!!map ', '!custom ', '? ', '|', '>-', '#', '---\n', '...\n', '%YAML 1.2\n', '%TAG !e! tag:e.org,2000:\n',
  '127.0.0.1', '::1', '5300', '10s', '-1', '1e400', '0x1F', '.inf', '.nan', 'null', '~', 'true', 'yes', '\t', '\r',
  '\u2028', '\ufeff', '\0', '\\', 'é', '😀',
]
const tokenSoup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map(t => t.join(''))
/** The shipped file with tokens spliced in at random offsets (near misses of a real configuration). */
const spliced = (file: string): fc.Arbitrary<string> => fc.array(fc.tuple(fc.nat(), fc.constantFrom(...TOKENS), fc.nat(3)), { minLength: 1, maxLength: 4 })
  .map(edits => {
    let text = shipped[file] as string
    for (const [at, token, cut] of edits) {
      const i = at % (text.length + 1)
      text = text.slice(0, i) + token + text.slice(i + cut)
    }
    return text
  })

/** Values close to what the schema takes, and a few it does not. */
const SCALARS = [
  0, 1, -1, 2, 30, 53, 512, 1232, 65535, 65536, 2 ** 31, 2 ** 53 + 2, 0.5, -0.0, Infinity, -Infinity, NaN, true, false, null,
  '', ' ', '10s', '0ms', '250ms', '1.5m', '99999999d', '10', '127.0.0.1', '127.0.0.1:0', '[::1]:53', '127.0.0.1:99999',
  '300.1.1.1', '::1', '2001:db8::/32', '10.0.0.0/33', 'example.test', 'example.test.', '.', '*.x', 'a..b', 'x'.repeat(64),
  'http://127.0.1.1:8080/', 'https://', 'ftp://x/', '/healthz', 'geo', 'nearest', 'round-robin', 'weighted', 'failover',
  'hash', 'first', 'serve-all', 'fallback', 'nodata', 'servfail', 'http', 'https', 'tcp', 'dns', 'agent', 'haproxy',
  'static', 'up', 'down', 'drain', 'EU', 'DE', 'XX', 'default', 'fra', 'nyc', 'web', 'mirrors', 'zones/', '/nonexistent',
  'geo/demo-city.mmdb', 'zones/example.test.yaml', 'info', 'trace', 'loud',
]
const scalar = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SCALARS) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
)
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>(tie => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom('name', 'address', 'site', 'url', 'type', 'pool', 'ttl', 'A'), fc.string({ maxLength: 8 })), tie('v'), { maxKeys: 3 })),
})).v

function keysOf (v: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) keysOf(x, into)
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) { into.add(k); keysOf(x, into) }
  return into
}

interface Edit { path: number[], kind: 'delete' | 'replace' | 'add', key: string, value: unknown }

/** Walk down `path` (indexes modulo the number of children) and delete, replace or add there. */
function applyEdit (root: Record<string, unknown>, e: Edit): void {
  const children = (n: object): Array<string | number> => Array.isArray(n) ? n.map((_, i) => i) : Object.keys(n)
  const isContainer = (x: unknown): x is Record<string | number, unknown> => x !== null && typeof x === 'object'
  let node: Record<string | number, unknown> = root
  const path = [...e.path]
  while (path.length > 1) {
    const ks = children(node)
    const next = ks.length === 0 ? undefined : node[ks[(path[0] as number) % ks.length] as string | number]
    if (!isContainer(next)) break
    node = next
    path.shift()
  }
  const ks = children(node)
  const k = ks.length === 0 ? undefined : ks[(path[0] ?? 0) % ks.length]
  if (e.kind === 'add') {
    if (Array.isArray(node)) node.push(e.value)
    else node[e.key] = e.value
  } else if (k !== undefined) {
    if (e.kind === 'replace') node[k] = e.value
    else if (Array.isArray(node)) node.splice(k as number, 1)
    else delete node[k]
  }
}

/** The shipped file parsed, edited 1-4 times, and written back as YAML. */
const edited = (file: string): fc.Arbitrary<string> => {
  const keys = [...keysOf(parse(shipped[file] as string)), 'cluster', 'redis', 'admin', 'token_file', 'metrics', 'enabled',
    'shutdown', 'timeout', 'nets', 'weight', 'quorum', 'http', 'https', 'agent', 'tls', 'sni', 'PTR', 'AAAA', 'TXT', '*']
  const edit: fc.Arbitrary<Edit> = fc.record({
    path: fc.array(fc.nat(), { maxLength: 5 }),
    kind: fc.constantFrom('delete', 'replace', 'add'),
    key: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) }),
    value,
  })
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map(edits => {
    const doc = parse(shipped[file] as string) as Record<string, unknown>
    for (const e of edits) applyEdit(doc, e)
    return stringify(doc)
  })
}

describe('loadConfig on generated YAML: a configuration or located errors, nothing else', () => {
  test('the shipped files load (the edits below start from a valid configuration)', async () => {
    await loadsOrLocates(MAIN, shipped[MAIN] as string)
    await loadConfig(join(dir, MAIN))
  })

  for (const file of [MAIN, ZONE]) {
    test(`${file}: any text`, async () => {
      await fc.assert(fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 200 }), t => loadsOrLocates(file, t)), fuzzParams(80))
    })
    test(`${file}: YAML token soup`, async () => {
      await fc.assert(fc.asyncProperty(tokenSoup, t => loadsOrLocates(file, t)), fuzzParams(80))
    })
    test(`${file}: the shipped file with tokens spliced in`, async () => {
      await fc.assert(fc.asyncProperty(spliced(file), t => loadsOrLocates(file, t)), fuzzParams(100))
    })
    test(`${file}: the shipped file with fields deleted, replaced and added`, async () => {
      await fc.assert(fc.asyncProperty(edited(file), t => loadsOrLocates(file, t)), fuzzParams(150))
    })
  }
})
