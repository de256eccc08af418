/**
 * Config pipeline: every fixture under test/fixtures/invalid declares, in `# expect: CODE line:col`
 * comments, exactly the errors it must produce; the loader must report those and no others.
 */
import assert from 'node:assert/strict'
import { cp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { describe, test } from 'node:test'
import { loadConfig } from '../src/config/load.js'
import { ConfigError, formatIssue } from '../src/errors.js'
import { writeConfig } from './helpers/stack.js'

const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'invalid')

async function filesUnder (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...await filesUnder(p))
    else out.push(p)
  }
  return out
}

describe('invalid configurations', async () => {
  for (const name of (await readdir(FIXTURES)).sort()) {
    test(name, async () => {
      const src = join(FIXTURES, name)
      const dir = await writeConfig({})
      try {
        if ((await stat(src)).isDirectory()) await cp(src, dir, { recursive: true })
        else await writeFile(join(dir, 'zones', name), await readFile(src))
        const expected: string[] = []
        for (const f of await filesUnder(dir)) {
          for (const m of (await readFile(f, 'utf8')).matchAll(/^# expect: (\S+) (\d+:\d+)$/gm)) {
            expected.push(`${m[1]} ${relative(dir, f)}:${m[2]}`)
          }
        }
        assert.ok(expected.length > 0, 'fixture declares no expected error')
        const err = await loadConfig(join(dir, 'gslb.yaml')).then(() => undefined, (e: unknown) => e)
        assert.ok(err instanceof ConfigError, 'expected a ConfigError')
        const got = err.issues.map(i => `${i.code} ${relative(dir, i.file)}:${i.line}:${i.col}`)
        assert.deepEqual(got.sort(), expected.sort(), err.message)
        for (const i of err.issues) assert.match(formatIssue(i), /^\S+:\d+:\d+: .+ \[GSLB_E_[A-Z_]+\]$/)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })
  }
})

describe('error messages', () => {
  test('name the field path and the bad value', async () => {
    const dir = await writeConfig({
      'zones/z.yaml': 'zone: example.test\nsoa: { primary: ns1.example.test, contact: h.example.test, serial: 1 }\nrecords:\n  "@": { NS: [ns1.example.test] }\n  www: { A: [192.0.2.1, 192.0.2.300] }\n',
    })
    const err = await loadConfig(join(dir, 'gslb.yaml')).catch((e: unknown) => e) as ConfigError
    assert.match(formatIssue(err.issues[0]!), /zones\/z\.yaml:5:25: records\.www\.A\[1\]: invalid IPv4 address: got "192\.0\.2\.300" \[GSLB_E_ADDRESS\]$/)
    await rm(dir, { recursive: true, force: true })
  })

  // Found by test/fuzz-config.test.ts: a raw CR in a quoted key put the cursor back over the location.
  test('are one line: CR, LF and line separators in the quoted key or value are escaped', async () => {
    const dir = await writeConfig({ 'gslb.yaml': 'listen: { dns: ["127.0.0.1:0"] }\n"\\rdns": 1\nlog: { level: "a\\nb\\u2028c" }\n' })
    const err = await loadConfig(join(dir, 'gslb.yaml')).catch((e: unknown) => e) as ConfigError
    const lines = err.issues.map(formatIssue)
    assert.equal(lines.length, 2)
    for (const l of lines) assert.doesNotMatch(l, /[\r\n\u2028]/)
    assert.match(lines[0] as string, /:2:1: "\\rdns": unknown key "\\rdns"; did you mean "dns"\?/)
    assert.match(lines[1] as string, /:3:15: log\.level: must be one of .*: got "a\\nb\\u2028c" \[GSLB_E_VALUE\]$/)
    await rm(dir, { recursive: true, force: true })
  })
})

describe('valid configurations', () => {
  test('the bundled gslb.yaml and zones load', async () => {
    const config = await loadConfig(join(import.meta.dirname, '..', '..', 'gslb.yaml'))
    assert.ok(config.zones.length >= 1)
    assert.ok(Object.isFrozen(config.zones[0]))
  })

  test('defaults apply when dns and log are absent', async () => {
    const dir = await writeConfig({ 'zones/z.yaml': 'zone: example.test\nsoa: { primary: ns1.example.test, contact: h.example.test, serial: 1 }\nrecords: { "@": { NS: [ns1.example.test] } }\n' })
    const c = await loadConfig(join(dir, 'gslb.yaml'))
    assert.equal(c.dns.udpPayloadSize, 1232)
    assert.equal(c.dns.tcpIdleTimeoutMs, 10_000)
    assert.equal(c.dns.tcpIoTimeoutMs, 2_000)
    assert.equal(c.zones[0]?.soa.minimum, 300)
    assert.equal(c.zones[0]?.ttl, 3600)
    await rm(dir, { recursive: true, force: true })
  })

  // Found by test/fuzz-config.test.ts: both were refused with "0 configuration errors".
  test('optional keys left out: geo without a database, admin without a token file', async () => {
    const dir = await writeConfig({ 'gslb.yaml': 'listen: { dns: ["127.0.0.1:0"] }\ngeo: { ecs: false }\nadmin: {}\n' })
    const c = await loadConfig(join(dir, 'gslb.yaml'))
    assert.deepEqual([c.geo.database, c.geo.ecs, c.admin.tokenFile], [undefined, false, undefined])
    await rm(dir, { recursive: true, force: true })
  })

  test('a static check needs no port on its members', async () => {
    const dir = await writeConfig({
      'gslb.yaml': 'listen: { dns: ["127.0.0.1:0"] }\nchecks: { s: { type: static, state: up } }\npools: { p: { check: s, members: [{ name: a, address: 192.0.2.1 }] } }\n',
      'zones/z.yaml': 'zone: example.test\nsoa: { primary: ns1.example.test, contact: h.example.test, serial: 1 }\nrecords: { "@": { NS: [ns1.example.test] } }\n',
    })
    const c = await loadConfig(join(dir, 'gslb.yaml'))
    assert.equal(c.pools[0]?.members[0]?.checkPort, undefined)
    await rm(dir, { recursive: true, force: true })
  })
})
