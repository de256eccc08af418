/**
 * Admin state kept in the state file, through a real server and its admin API: a write that fails
 * is reported (500, GSLB_E_STATE_WRITE) and never applied, not even by a later reload; the next
 * change succeeds once the disk is writable; a state file that cannot be trusted stops the start
 * with GSLB_E_STATE_FILE; entries for members not configured are kept and logged; temporary files
 * left by a process killed mid-write are removed. The merge rule itself is tested as a table.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { applyChange, decodeTable, type AdminEntry } from '../src/core/admin-state.js'
import { decodeMessage } from '../src/dns/decode.js'
import { ConfigError, ErrorCode } from '../src/errors.js'
import { buildQuery, udpExchange } from './helpers/dns.js'
import { captureLogger, startIn, writeConfig, zone, type Stack } from './helpers/stack.js'

const CONFIG = `listen: { dns: ["127.0.0.1:0"], admin: "127.0.0.1:0" }
checks: { up: { type: static, state: up } }
pools:
  web:
    check: up
    members:
      - { name: m1, address: 127.0.0.11 }
      - { name: m2, address: 127.0.0.12 }
      - { name: m3, address: 127.0.0.13 }
health: { state_file: var/gslb-state.json }
`
const FILES = { 'gslb.yaml': CONFIG, 'zones/example.test.yaml': zone('  www: { pool: web }\n') }

async function answers (stack: Stack): Promise<string[]> {
  const r = await udpExchange(stack.port, buildQuery({ name: 'www.example.test' }), '127.0.0.1', 1000)
  assert.ok(r !== undefined, 'no DNS answer')
  return decodeMessage(r).answer.map(a => a.data).sort()
}

async function put (stack: Stack, member: string, body: object): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${stack.adminPort as number}/v1/members/web/${member}/admin`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

async function adminStates (stack: Stack): Promise<Record<string, string>> {
  const res = await fetch(`http://127.0.0.1:${stack.adminPort as number}/v1/pools`)
  const body = await res.json() as { pools: Array<{ members: Array<{ name: string, admin: string }> }> }
  return Object.fromEntries((body.pools[0]?.members ?? []).map(m => [m.name, m.admin]))
}

async function stateFile (dir: string): Promise<Record<string, unknown>> {
  return (JSON.parse(await readFile(join(dir, 'var/gslb-state.json'), 'utf8')) as { members: Record<string, unknown> }).members
}

describe('admin state file', () => {
  test('a failed write answers 500 GSLB_E_STATE_WRITE and applies nothing, now or after a reload; the next write succeeds', async () => {
    const dir = await writeConfig(FILES)
    const stack = await startIn(dir)
    await rm(join(dir, 'var'), { recursive: true, force: true })
    await writeFile(join(dir, 'var'), 'a file where the state directory belongs\n')
    try {
      const failed = await put(stack, 'm2', { state: 'drain' })
      assert.equal(failed.status, 500)
      assert.equal(failed.body.code, ErrorCode.STATE_WRITE)
      assert.match(String(failed.body.error), /cannot write the admin state file .*var\/gslb-state\.json: .*the change was not applied/)
      assert.deepEqual(await answers(stack), ['127.0.0.11', '127.0.0.12', '127.0.0.13'], 'not applied')
      assert.equal((await adminStates(stack)).m2, 'ready')
      assert.equal((await put(stack, 'm1', { force: 'down' })).status, 500, 'still failing while the disk is')

      await rm(join(dir, 'var'))
      const ok = await put(stack, 'm3', { state: 'maint', note: 'disk replaced' })
      assert.equal(ok.status, 200, 'the next change succeeds once the disk is writable')
      assert.deepEqual(ok.body, { member: 'web/m3', state: 'maint', force: null, weight: null, expires_at: null, note: 'disk replaced' })
      assert.deepEqual(Object.keys(await stateFile(dir)), ['web/m3'])
      assert.deepEqual(await answers(stack), ['127.0.0.11', '127.0.0.12'])

      assert.equal((await stack.app.reload()).ok, true)
      assert.deepEqual(await answers(stack), ['127.0.0.11', '127.0.0.12'], 'a reload does not apply what was reported as failed')
      assert.deepEqual(await adminStates(stack), { m1: 'ready', m2: 'ready', m3: 'maint' })
    } finally {
      await stack.close()
    }
  })

  for (const c of [
    { name: 'a null entry', members: { 'web/m2': null }, error: /member "web\/m2" must be an object/ },
    { name: 'an unknown state', members: { 'web/m2': { state: 'sleeping' } }, error: /member "web\/m2": state must be ready, drain or maint: got "sleeping"/ },
    { name: 'a bad expires_at', members: { 'web/m2': { state: 'drain', expires_at: 'tomorrow' } }, error: /expires_at must be an ISO time: got "tomorrow"/ },
    { name: 'a set_at that is not a time', members: { 'web/m2': { state: 'drain', set_at: 17 } }, error: /set_at must be an ISO time: got 17/ },
    { name: 'an unknown field', members: { 'web/m2': { state: 'drain', until: 'x' } }, error: /unknown field "until"/ },
    { name: 'a key that is not pool/member', members: { m2: { state: 'drain' } }, error: /"m2" is not a pool\/member name/ },
  ]) {
    test(`${c.name} stops the start with GSLB_E_STATE_FILE, naming the member and the field`, async () => {
      const dir = await writeConfig({ ...FILES, 'var/gslb-state.json': JSON.stringify({ version: 1, members: c.members }) })
      try {
        await assert.rejects(startIn(dir, true), (err: unknown) => {
          assert.ok(err instanceof ConfigError)
          assert.equal(err.issues[0]?.code, ErrorCode.STATE_FILE)
          assert.match(err.issues[0]?.message ?? '', c.error)
          return true
        })
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })
  }

  test('an entry written by hand without set_at applies, and later writes work', async () => {
    const dir = await writeConfig({ ...FILES, 'var/gslb-state.json': '{"version": 1, "members": {"web/m2": {"state": "drain"}}}\n' })
    const stack = await startIn(dir)
    try {
      assert.deepEqual(await answers(stack), ['127.0.0.11', '127.0.0.13'])
      assert.equal((await put(stack, 'm1', { state: 'drain' })).status, 200)
      const file = await stateFile(dir)
      assert.deepEqual(file['web/m2'], { state: 'drain' })
      assert.equal((file['web/m1'] as { state: string }).state, 'drain')
    } finally {
      await stack.close()
    }
  })

  test('entries for members not in the configuration are kept and logged; stale temporary files are removed', async () => {
    const dead = spawn(process.execPath, ['-e', ''])
    await once(dead, 'exit')
    const deadTmp = `gslb-state.json.${dead.pid as number}.tmp`
    const liveTmp = `gslb-state.json.${process.ppid}.tmp`
    const dir = await writeConfig({
      ...FILES,
      'var/gslb-state.json': JSON.stringify({ version: 1, members: { 'web/gone': { state: 'maint', set_at: '2026-01-01T00:00:00Z' } } }),
      [`var/${deadTmp}`]: '{"version": 1, "members": {}}',
      [`var/${liveTmp}`]: '{}',
    })
    const { log, lines } = captureLogger()
    const stack = await startIn(dir, false, log)
    try {
      const warn = lines.find(l => l.msg.startsWith('admin state kept for members not in the configuration'))
      assert.equal(warn?.level, 40)
      assert.deepEqual(warn?.members, ['web/gone'])
      assert.ok(lines.some(l => l.msg.startsWith('removed a temporary admin state file') && String(l.file).endsWith(deadTmp)))
      const left = await readdir(join(dir, 'var'))
      assert.ok(!left.includes(deadTmp), 'the dead writer\'s temporary file is gone')
      assert.ok(left.includes(liveTmp), 'a live process\'s temporary file is left alone')
      assert.equal((await put(stack, 'm1', { state: 'drain' })).status, 200)
      assert.deepEqual(Object.keys(await stateFile(dir)), ['web/gone', 'web/m1'], 'kept across writes')
    } finally {
      await stack.close()
    }
  })

  test('an expiry must be a duration or a time within 366 days; anything else is 400 GSLB_E_BAD_REQUEST', async () => {
    const stack = await startIn(await writeConfig(FILES))
    try {
      for (const expires of ['400d', '999999999d', 'soon', '2001-01-01T00:00:00Z', '0s']) {
        const r = await put(stack, 'm1', { state: 'drain', expires })
        assert.equal(r.status, 400, expires)
        assert.equal(r.body.code, ErrorCode.BAD_REQUEST, expires)
      }
      const ok = await put(stack, 'm1', { state: 'drain', expires: '30d' })
      assert.equal(ok.status, 200)
      assert.deepEqual(await answers(stack), ['127.0.0.12', '127.0.0.13'])
    } finally {
      await stack.close()
    }
  })

  test('a state file in a directory that does not exist yet is created with it', async () => {
    const dir = await writeConfig(FILES)
    await rm(join(dir, 'var'), { recursive: true, force: true })
    const stack = await startIn(dir)
    try {
      assert.equal((await put(stack, 'm2', { state: 'drain', expires: '1h' })).status, 200)
      const e = (await stateFile(dir))['web/m2'] as { expires_at: string }
      assert.ok(Date.parse(e.expires_at) > Date.now() + 3_500_000)
    } finally {
      await stack.close()
    }
  })
})

describe('applyChange: the one merge rule of every store', () => {
  const drained: AdminEntry = { state: 'drain', force: undefined, expiresAt: 5000, setAt: 1, note: 'upgrade' }
  const cases: Array<{ name: string, current: AdminEntry | undefined, change: Parameters<typeof applyChange>[1], want: Partial<AdminEntry> | undefined }> = [
    { name: 'drain from nothing', current: undefined, change: { state: 'drain', setAt: 2 }, want: { state: 'drain', force: undefined, expiresAt: undefined, note: undefined } },
    { name: 'force keeps the state and the note; a change without expiry does not expire', current: drained, change: { force: 'up', setAt: 2 }, want: { state: 'drain', force: 'up', expiresAt: undefined, note: 'upgrade' } },
    { name: 'ready and unforced is no entry at all', current: drained, change: { state: 'ready', setAt: 2 }, want: undefined },
    { name: 'unforce keeps the state', current: { ...drained, force: 'down' }, change: { force: 'none', setAt: 2 }, want: { state: 'drain', force: undefined } },
    { name: 'ready keeps a force', current: { ...drained, force: 'down' }, change: { state: 'ready', setAt: 2 }, want: { state: 'ready', force: 'down' } },
  ]
  for (const c of cases) {
    test(c.name, () => {
      const got = applyChange(c.current, c.change)
      if (c.want === undefined) { assert.equal(got, undefined); return }
      for (const [k, v] of Object.entries(c.want)) assert.equal(got?.[k as keyof AdminEntry], v, k)
      assert.equal(got?.setAt, 2)
    })
  }

  test('decodeTable refuses what is not a version 1 state file', () => {
    for (const bad of [null, [], { version: 2, members: {} }, { version: 1 }, { version: 1, members: [] }]) {
      assert.equal(typeof decodeTable(bad), 'string', JSON.stringify(bad))
    }
  })
})

// A directory that exists but holds no state file yet is normal on a first start.
test('a first start with an empty state directory serves every member', async () => {
  const dir = await writeConfig(FILES)
  await mkdir(join(dir, 'var'), { recursive: true })
  const stack = await startIn(dir)
  try {
    assert.deepEqual(await answers(stack), ['127.0.0.11', '127.0.0.12', '127.0.0.13'])
  } finally {
    await stack.close()
  }
})
