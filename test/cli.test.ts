/**
 * The `gslb` command as a user runs it: child processes, real sockets, exit codes, signals.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { writeFile, rm } from 'node:fs/promises'
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

  test('exits 1 when the configuration is invalid, also with workers', async () => {
    const dir = await writeConfig({ 'zones/z.yaml': ZONE('192.0.2.300') })
    for (const extra of [[], ['--workers', '2']]) {
      const proc = spawn(process.execPath, [MAIN, 'serve', '--dns', `127.0.0.1:${await freePort()}`, ...extra], { cwd: dir, stdio: 'ignore' })
      const [code] = await once(proc, 'exit') as [number]
      assert.equal(code, 1)
    }
    await rm(dir, { recursive: true, force: true })
  })
})
