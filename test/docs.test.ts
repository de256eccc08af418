/**
 * Documentation stays true: every YAML example in README.md and docs/ loads through the real
 * config pipeline, the README's configuration is the shipped one, every path a document cites
 * exists, and the error catalogue in src/errors.ts matches docs/errors.md both ways.
 */
import assert from 'node:assert/strict'
import { access, readdir, readFile, rm } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { describe, test } from 'node:test'
import { parse as parseYaml } from 'yaml'
import { loadConfig } from '../src/config/load.js'
import { decodeTable } from '../src/core/admin-state.js'
import { ErrorCode } from '../src/errors.js'
import { backendSpecs } from '../src/demo/farm.js'
import { SiteIndex } from '../src/demo/observe.js'
import { checkScenario } from '../src/demo/run-scenario.js'
import { parseScenario } from '../src/demo/scenario.js'
import { writeConfig } from './helpers/stack.js'

const ROOT = join(import.meta.dirname, '..', '..')
const DEFAULT_ZONE = 'zone: example.test\nsoa: { primary: ns1.example.test, contact: hostmaster.example.test, serial: 1 }\nrecords: { "@": { NS: [ns1.example.test] } }\n'

async function docs (): Promise<string[]> {
  const files = (await readdir(join(ROOT, 'docs'))).filter(f => f.endsWith('.md')).map(f => join('docs', f))
  return ['README.md', ...files]
}

/** YAML blocks, grouped into configurations: a repeated `# file:` path starts a new one. */
function examples (markdown: string): Array<Record<string, string>> {
  const sets: Array<Record<string, string>> = []
  let current: Record<string, string> = {}
  for (const m of markdown.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    const text = m[1] ?? ''
    const file = /^# file: (\S+)/.exec(text)?.[1]
    assert.ok(file !== undefined, `YAML example without a "# file:" first line:\n${text}`)
    if (file.startsWith('scenarios/')) continue
    if (file in current) { sets.push(current); current = {} }
    current[file] = text
  }
  if (Object.keys(current).length > 0) sets.push(current)
  return sets
}

describe('documentation examples load', async () => {
  for (const doc of await docs()) {
    const sets = examples(await readFile(join(ROOT, doc), 'utf8'))
    sets.forEach((files, i) => {
      test(`${doc} example ${i + 1} (${Object.keys(files).join(', ')})`, async () => {
        const hasZone = Object.keys(files).some(f => f.startsWith('zones/'))
        // An example naming the demo geo database gets a copy of it where it says.
        const geo = Object.values(files).some(t => t.includes('geo/demo-city.mmdb')) ? { 'geo/demo-city.mmdb': await readFile(join(ROOT, 'geo', 'demo-city.mmdb')) } : {}
        const dir = await writeConfig({ ...(hasZone ? {} : { 'zones/default.yaml': DEFAULT_ZONE }), ...geo, ...files })
        try {
          await loadConfig(join(dir, 'gslb.yaml'))
        } finally {
          await rm(dir, { recursive: true, force: true })
        }
      })
    })
  }
})

describe('documentation scenario examples check against the bundled configuration', async () => {
  const config = await loadConfig(join(ROOT, 'gslb.yaml'))
  const specs = backendSpecs(config)
  for (const doc of await docs()) {
    const blocks = [...(await readFile(join(ROOT, doc), 'utf8')).matchAll(/```yaml\n(# file: (scenarios\/\S+)\n[\s\S]*?)```/g)]
    blocks.forEach(([, text = '', file = ''], i) => {
      test(`${doc} scenario ${i + 1} (${file})`, () => {
        const scenario = parseScenario(file, text)
        checkScenario(scenario, {
          dns: { host: '127.0.0.1', port: 53 },
          http: { host: '127.0.0.1', port: 80 },
          sites: new SiteIndex(config),
          knownSites: config.sites.map(s => s.name),
          faultTargets: [...new Set(specs.flatMap(s => [s.site, s.name]))],
          inject: async () => {},
        })
      })
    })
  }
})

describe('documentation JSON examples parse', async () => {
  for (const doc of await docs()) {
    const blocks = [...(await readFile(join(ROOT, doc), 'utf8')).matchAll(/```json\n([\s\S]*?)```/g)].map(m => m[1] ?? '')
    blocks.forEach((text, i) => {
      test(`${doc} JSON example ${i + 1}`, () => {
        const data = JSON.parse(text) as Record<string, unknown>
        // A state file example must be one that gslb would load.
        if ('members' in data) assert.notEqual(typeof decodeTable(data), 'string', String(decodeTable(data)))
      })
    })
  }
})

describe('documents cite only what exists', () => {
  test('every repository path in backticks and every relative link names a file or directory that exists', async () => {
    const missing: string[] = []
    for (const doc of await docs()) {
      const text = await readFile(join(ROOT, doc), 'utf8')
      const base = doc.startsWith('docs/') ? join(ROOT, 'docs') : ROOT
      const cited = [...text.matchAll(/`((?:src|test|docs|bench|examples|geo|zones|deploy|\.ci)\/[\w./-]*)`/g)].map(m => join(ROOT, m[1] ?? ''))
      const linked = [...text.matchAll(/\]\(((?!https?:|#|mailto:)[^)#\s]+)(?:#[^)]*)?\)/g)].map(m => join(base, m[1] ?? ''))
      for (const path of [...cited, ...linked]) {
        try { await access(path) } catch { missing.push(`${doc}: ${relative(ROOT, path)}`) }
      }
    }
    assert.deepEqual(missing, [])
  })

  test('the README configuration blocks are the shipped gslb.yaml and zone, abridged but not changed', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    const blocks = [...readme.matchAll(/```yaml\n# file: (\S+)\n([\s\S]*?)```/g)]
    const shipped = blocks.filter(m => m[1] === 'gslb.yaml' || m[1]?.startsWith('zones/') === true)
    assert.ok(shipped.length >= 2, 'the README shows gslb.yaml and a zone')
    for (const [, file = '', text = ''] of shipped) {
      const actual = parseYaml(await readFile(join(ROOT, file), 'utf8')) as unknown
      const problems = notWithin(parseYaml(text), actual, file)
      assert.deepEqual(problems, [], `README's ${file} block differs from the file`)
    }
  })
})

/** Where `part` says something `whole` does not: every key of a mapping and every item of a list must match. */
function notWithin (part: unknown, whole: unknown, path: string): string[] {
  if (Array.isArray(part)) {
    if (!Array.isArray(whole)) return [`${path}: a list in the README, not in the file`]
    if (part.length !== whole.length) return [`${path}: ${part.length} items in the README, ${whole.length} in the file`]
    return part.flatMap((p, i) => notWithin(p, whole[i], `${path}[${i}]`))
  }
  if (part !== null && typeof part === 'object') {
    if (whole === null || typeof whole !== 'object' || Array.isArray(whole)) return [`${path}: a mapping in the README, not in the file`]
    return Object.entries(part).flatMap(([k, v]) => k in whole ? notWithin(v, (whole as Record<string, unknown>)[k], `${path}.${k}`) : [`${path}.${k}: not in the file`])
  }
  return part === whole ? [] : [`${path}: ${JSON.stringify(part)} in the README, ${JSON.stringify(whole)} in the file`]
}

describe('error catalogue', () => {
  test('every code is documented in docs/errors.md, and every documented code exists', async () => {
    const text = await readFile(join(ROOT, 'docs', 'errors.md'), 'utf8')
    const documented = new Set([...text.matchAll(/^\| `(GSLB_E_[A-Z_]+)`/gm)].map(m => m[1]))
    const codes = new Set(Object.values(ErrorCode))
    assert.deepEqual([...codes].filter(c => !documented.has(c)), [], 'codes missing from docs/errors.md')
    assert.deepEqual([...documented].filter(c => !codes.has(c as ErrorCode)), [], 'documented codes that do not exist')
  })
})
