/**
 * Documentation stays true: every YAML example in README.md and docs/ loads through the real
 * config pipeline, and the error catalogue in src/errors.ts matches docs/errors.md both ways.
 */
import assert from 'node:assert/strict'
import { readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { loadConfig } from '../src/config/load.js'
import { decodeTable } from '../src/core/admin-state.js'
import { ErrorCode } from '../src/errors.js'
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

describe('error catalogue', () => {
  test('every code is documented in docs/errors.md, and every documented code exists', async () => {
    const text = await readFile(join(ROOT, 'docs', 'errors.md'), 'utf8')
    const documented = new Set([...text.matchAll(/^\| `(GSLB_E_[A-Z_]+)`/gm)].map(m => m[1]))
    const codes = new Set(Object.values(ErrorCode))
    assert.deepEqual([...codes].filter(c => !documented.has(c)), [], 'codes missing from docs/errors.md')
    assert.deepEqual([...documented].filter(c => !codes.has(c as ErrorCode)), [], 'documented codes that do not exist')
  })
})
