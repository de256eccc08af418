/**
 * The `gslb` command as a user runs it: child processes, real sockets, exit codes, signals.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { readFile, writeFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { decodeMessage } from '../src/dns/decode.js'
import { buildQuery, udpExchange } from './helpers/dns.js'
import { freePort, MAIN, run, serve, stop } from './helpers/process.js'
import { writeConfig } from './helpers/stack.js'

const ZONE = (address: string): string => `zone: example.test
soa: { primary: ns1.example.test, contact: hostmaster.example.test, serial: 1 }
records:
  "@": { NS: [ns1.example.test] }
  ns1: { A: 192.0.2.53 }
  www: { A: ${address} }
`

async function answer (port: number): Promise<string | undefined> {
  const r = await udpExchange(port, buildQuery({ name: 'www.example.test' }), '127.0.0.1', 500)
  return r === undefined ? undefined : decodeMessage(r).answer[0]?.data
}

describe('gslb check', () => {
  test('exits 0 on a valid configuration', async () => {
    const dir = await writeConfig({ 'zones/z.yaml': ZONE('192.0.2.1') })
    const r = await run(['check'], dir)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /ok \(1 zone, 4 records, 0 pools, 0 checks\)/)
    await rm(dir, { recursive: true, force: true })
  })

  test('exits 1 and names file:line:col for a broken zone', async () => {
    const dir = await writeConfig({ 'zones/z.yaml': ZONE('192.0.2.999') })
    const r = await run(['check', '-c', 'gslb.yaml'], dir)
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^zones\/z\.yaml:6:13: records\.www\.A: invalid IPv4 address: got "192\.0\.2\.999" \[GSLB_E_ADDRESS\]$/m)
    await rm(dir, { recursive: true, force: true })
  })

  test('exits 2 on a usage error', async () => {
    const r = await run(['frobnicate'], process.cwd())
    assert.equal(r.code, 2)
  })

  test('suggests the key meant for an unknown config key', async () => {
    const dir = await writeConfig({ 'zones/z.yaml': ZONE('192.0.2.1') })
    await writeFile(join(dir, 'gslb.yaml'), 'zones: zones\nlisen:\n  dns: [127.0.0.1:5353]\n')
    const r = await run(['check'], dir)
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^gslb\.yaml:2:1: lisen: unknown key "lisen"; did you mean "listen"\? \(allowed: .*\) \[GSLB_E_UNKNOWN_KEY\]$/m)
    await rm(dir, { recursive: true, force: true })
  })
})

describe('gslb usage', () => {
  test('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
    for (const flag of ['--version', '-V']) {
      const r = await run([flag], process.cwd())
      assert.equal(r.code, 0)
      assert.equal(r.stdout, `gslb ${pkg.version}\n`)
    }
  })

  test('each command has its own --help', async () => {
    const texts = new Map<string, string>()
    for (const command of ['serve', 'check', 'admin', 'explain']) {
      const r = await run([command, '--help'], process.cwd())
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, new RegExp(`^Usage:\\s+gslb ${command}`))
      texts.set(command, r.stdout)
    }
    assert.match(texts.get('serve') ?? '', /--workers N/)
    assert.doesNotMatch(texts.get('check') ?? '', /--workers/)
    assert.match(texts.get('admin') ?? '', /drain/)
    assert.match(texts.get('explain') ?? '', /--client/)
  })

  test('an unknown command or flag gets a "did you mean" and exit 2', async () => {
    const command = await run(['serv'], process.cwd())
    assert.equal(command.code, 2)
    assert.match(command.stderr, /^gslb: unknown command "serv"; did you mean "serve"\?$/m)
    const flag = await run(['serve', '--worker', '2'], process.cwd())
    assert.equal(flag.code, 2)
    assert.match(flag.stderr, /^gslb: unknown option --worker for serve; did you mean --workers\?$/m)
    assert.match(flag.stderr, /^Usage: gslb serve/m)
    const far = await run(['check', '--zzzzzz'], process.cwd())
    assert.equal(far.code, 2)
    assert.match(far.stderr, /^gslb: unknown option --zzzzzz for check$/m)
  })
})

describe('gslb serve', () => {
  test('answers on the --dns address; SIGHUP reloads; a bad reload keeps the old zone serving', async () => {
    const dir = await writeConfig({ 'zones/z.yaml': ZONE('192.0.2.1') })
    const port = await freePort()
    const { proc, logged } = await serve(dir, ['--dns', `127.0.0.1:${port}`])
    try {
      assert.equal(await answer(port), '192.0.2.1')
      await writeFile(join(dir, 'zones/z.yaml'), ZONE('192.0.2.2'))
      proc.kill('SIGHUP')
      await logged('"configuration reloaded"')
      assert.equal(await answer(port), '192.0.2.2')
      await writeFile(join(dir, 'zones/z.yaml'), ZONE('not-an-address'))
      proc.kill('SIGHUP')
      await logged('reload failed')
      assert.equal(await answer(port), '192.0.2.2')
    } finally {
      await stop(proc)
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('--workers 2 starts two processes that share the listeners', async () => {
    const dir = await writeConfig({ 'zones/z.yaml': ZONE('192.0.2.7') })
    const port = await freePort()
    const { proc } = await serve(dir, ['--dns', `127.0.0.1:${port}`, '--workers', '2'])
    try {
      for (let i = 0; i < 20; i++) assert.equal(await answer(port), '192.0.2.7')
    } finally {
      await stop(proc)
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('exits 1 promptly when a listen address is taken, leaving nothing running', async () => {
    const blocker = createServer()
    await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
    const busy = (blocker.address() as { port: number }).port
    const dir = await writeConfig({ 'zones/z.yaml': ZONE('192.0.2.7') })
    const proc = spawn(process.execPath, [MAIN, 'serve', '--dns', `127.0.0.1:${await freePort()}`, '--http', `127.0.0.1:${busy}`], { cwd: dir, stdio: 'ignore' })
    const started = Date.now()
    const [code] = await once(proc, 'exit') as [number]
    assert.equal(code, 1)
    assert.ok(Date.now() - started < 15_000)
    blocker.close()
    await rm(dir, { recursive: true, force: true })
  })

  test('exits 1 when the configuration is invalid, also with workers, printing the errors as check does', async () => {
    const dir = await writeConfig({ 'zones/z.yaml': ZONE('192.0.2.300') })
    const checked = await run(['check'], dir)
    const line = checked.stderr.split('\n')[0] ?? ''
    assert.match(line, /^zones\/z\.yaml:6:13: records\.www\.A: .* \[GSLB_E_ADDRESS\]$/)
    for (const extra of [[], ['--workers', '2']]) {
      const r = await run(['serve', '--dns', `127.0.0.1:${await freePort()}`, ...extra], dir)
      assert.equal(r.code, 1)
      assert.ok(r.stderr.split('\n').includes(line), r.stderr)
      assert.match(r.stdout, /configuration refused; not starting/)
    }
    await rm(dir, { recursive: true, force: true })
  })

  test('--log-format pretty writes one readable line per record; json is the default off a terminal', async () => {
    const dir = await writeConfig({ 'zones/z.yaml': ZONE('192.0.2.1') })
    const pretty = spawn(process.execPath, [MAIN, 'serve', '--dns', `127.0.0.1:${await freePort()}`, '--log-format', 'pretty'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    await new Promise<void>(resolve => pretty.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('zones loaded')) resolve() }))
    await stop(pretty)
    assert.match(out, /^\d\d:\d\d:\d\d\.\d{3} INFO  (\w+: )?zones loaded zones=\[/m)
    assert.doesNotMatch(out, /^\{/m)
    const { proc, log } = await serve(dir, ['--dns', `127.0.0.1:${await freePort()}`])
    await stop(proc)
    assert.match(log.join(''), /^\{"level":30,/m)
    await rm(dir, { recursive: true, force: true })
  })
})
