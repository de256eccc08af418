/**
 * The layer rules of docs/architecture.md, read from the imports of every source file, so they
 * stay true without anyone remembering them: the core imports no front-end or engine library and
 * no front end; the DNS and HTTP front ends never import each other; the cluster stores, the
 * dashboard, metrics and the demo stay on their side.
 */
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { test } from 'node:test'

const SRC = join(import.meta.dirname, '..', '..', 'src')

async function sources (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...await sources(join(dir, e.name)))
    else if (e.name.endsWith('.ts')) out.push(join(dir, e.name))
  }
  return out
}

/** Every module specifier a file imports or re-exports, static or dynamic. */
function imports (text: string): string[] {
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)|(?:^|\n)\s*import\s*'([^']+)'/g)]
    .map(m => m[1] ?? m[2] ?? m[3] ?? '')
}

const RULES: Array<{ dir: string, forbidden: RegExp, why: string }> = [
  { dir: 'core', forbidden: /^(dns2|fastify|maxmind|mmdb-lib|ioredis|redis|prom-client|undici|playwright-core)(\/|$)|^\.\.\/(dns|http|admin|cli|workers|probes|geo|explain|metrics|dashboard|demo|cluster)\//, why: 'the core imports no front-end or engine library and no front end' },
  { dir: 'cluster', forbidden: /^(fastify|dns2|prom-client)(\/|$)|^\.\.\/(dns|http|admin|cli|dashboard|demo|metrics)\//, why: 'the cluster stores know Redis and the core, no front end' },
  { dir: 'dashboard', forbidden: /^\.\.\/(dns|http|demo|cli|cluster)\//, why: 'the dashboard reads the core and the feed it is given, not the front ends or the demo' },
  { dir: 'metrics', forbidden: /^\.\.\/(admin|cli|dashboard|demo)\//, why: 'metrics read counters; they serve no page' },
  { dir: 'demo', forbidden: /^\.\.\/cli\//, why: 'the demo is a library the CLI drives' },
  { dir: 'dns', forbidden: /^\.\.\/(http|admin)\//, why: 'the DNS front end does not import the HTTP one' },
  { dir: 'http', forbidden: /^\.\.\/(dns|admin)\//, why: 'the HTTP front end does not import the DNS one' },
]

test('layer rules hold for every import', async () => {
  const broken: string[] = []
  for (const file of await sources(SRC)) {
    const dir = relative(SRC, file).split('/')[0] ?? ''
    const text = await readFile(file, 'utf8')
    for (const rule of RULES) {
      if (rule.dir !== dir) continue
      for (const spec of imports(text)) if (rule.forbidden.test(spec)) broken.push(`src/${relative(SRC, file)} imports '${spec}': ${rule.why}`)
    }
  }
  assert.deepEqual(broken, [])
})

test('the import reader sees the forms the rules must catch', () => {
  const found = imports("import dns2 from 'dns2'\nimport type { X } from '../http/app.js'\nexport { y } from '../dns/x.js'\nconst m = await import('maxmind')\nimport 'fastify'\n")
  assert.deepEqual(found, ['dns2', '../http/app.js', '../dns/x.js', 'maxmind', 'fastify'])
})
