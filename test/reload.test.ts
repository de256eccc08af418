/**
 * Live reload as an operator does it, against `gslb serve`: an edited zone file is picked up
 * within a second while thousands of queries a second go on, none lost; a broken edit is refused
 * with its file:line:col and the old configuration keeps answering; POST /v1/reload and
 * `gslb admin reload` say the same; with --workers 2 every worker reloads and the API says which
 * version each serves.
 */
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { decodeMessage } from '../src/dns/decode.js'
import { buildQuery, udpExchange } from './helpers/dns.js'
import { freePort, run, serve, stop } from './helpers/process.js'
import { writeConfig, zone } from './helpers/stack.js'

const ZONE = (mail: string): string => zone(`  mail: { A: ${mail} }\n`)

/**
 * Queries at about `perSecond` from one UDP socket until `until` resolves (at most `limit`), each
 * with its own id; resolves with what was sent and each answer's address, in the order received.
 */
async function load (port: number, perSecond: number, limit: number, until: Promise<void>, onAnswer: (data: string) => void = () => {}): Promise<{ sent: number, answers: Map<number, string> }> {
  const sock = createSocket('udp4')
  await new Promise<void>(resolve => sock.bind(0, '127.0.0.1', resolve))
  const answers = new Map<number, string>()
  sock.on('message', msg => {
    const m = decodeMessage(msg)
    const data = m.answer[0]?.data ?? m.rcode.toString()
    answers.set(m.id, data)
    onAnswer(data)
  })
  let sent = 0
  let done = false
  void until.then(() => { done = true })
  const perTick = Math.ceil(perSecond / 200)
  while (!done && sent < limit) {
    for (let i = 0; i < perTick && sent < limit; i++) sock.send(buildQuery({ id: sent++ & 0xffff, name: 'mail.example.test' }), port, '127.0.0.1')
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  // The last answers are on their way: wait for them, then for silence.
  for (let waited = 0; answers.size < sent && waited < 2000; waited += 20) await new Promise(resolve => setTimeout(resolve, 20))
  sock.close()
  return { sent, answers }
}

test('zone edits reload within a second under load; a broken edit is refused and nothing is lost', async () => {
  const ports = { dns: await freePort(), admin: await freePort() }
  const dir = await writeConfig({
    'gslb.yaml': `listen: { dns: ["127.0.0.1:${ports.dns}"], admin: "127.0.0.1:${ports.admin}" }\n`,
    'zones/example.test.yaml': ZONE('192.0.2.1'),
  })
  const served = await serve(dir, [])
  const zoneFile = join(dir, 'zones/example.test.yaml')
  try {
    let stopLoad: () => void = () => {}
    const loadDone = new Promise<void>(resolve => { stopLoad = resolve })
    let sawFix: () => void = () => {}
    const fixed = new Promise<void>(resolve => { sawFix = resolve })
    const running = load(ports.dns, 3000, 30_000, loadDone, data => { if (data === '192.0.2.3') sawFix() })
    await new Promise(resolve => setTimeout(resolve, 300))

    const editedAt = Date.now()
    await writeFile(zoneFile, ZONE('192.0.2.2'))
    await served.logged('"configuration reloaded"', 5000)
    assert.ok(Date.now() - editedAt < 1000, `reloaded ${Date.now() - editedAt} ms after the edit`)

    await writeFile(zoneFile, ZONE('192.0.2.300'))
    await served.logged('reload failed', 5000)
    assert.match(served.log.join(''), /zones\/example\.test\.yaml:6:14: records\.mail\.A: invalid IPv4 address: got \\"192\.0\.2\.300\\" \[GSLB_E_ADDRESS\]/)
    const api = await fetch(`http://127.0.0.1:${ports.admin}/v1/reload`, { method: 'POST' })
    assert.equal(api.status, 422)
    const body = await api.json() as { code: string, errors: string[] }
    assert.equal(body.code, 'GSLB_E_RELOAD_REFUSED')
    assert.match(body.errors[0] ?? '', /example\.test\.yaml:6:14/)
    const cli = await run(['admin', 'reload', '--admin', `127.0.0.1:${ports.admin}`], dir)
    assert.equal(cli.code, 1)
    assert.match(cli.stderr, /example\.test\.yaml:6:14: records\.mail\.A: invalid IPv4 address/)

    await writeFile(zoneFile, ZONE('192.0.2.3'))
    await served.logged('"configuration reloaded"', 5000, 2)
    await fixed // the load goes on until it gets the fixed answer
    stopLoad()
    const { sent, answers } = await running
    assert.ok(sent >= 1000, `sent ${sent}`)
    assert.equal(answers.size, sent, `${sent - answers.size} of ${sent} queries lost`)
    const seen = [...answers.values()]
    assert.deepEqual([...new Set(seen)], ['192.0.2.1', '192.0.2.2', '192.0.2.3'], 'old, then the edit, then the fix; never an error')
    const ok = await run(['admin', 'reload', '--admin', `127.0.0.1:${ports.admin}`], dir)
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /^reloaded: version [0-9a-f]{12}$/m)
  } finally {
    await stop(served.proc)
    await rm(dir, { recursive: true, force: true })
  }
})

test('--no-watch: edits wait for a SIGHUP', async () => {
  const [port, control] = [await freePort(), await freePort()]
  const dir = await writeConfig({ 'zones/example.test.yaml': ZONE('192.0.2.1') })
  // A second server on the same files, watching them: its reload shows when the watch has fired.
  const watching = await serve(dir, ['--dns', `127.0.0.1:${control}`])
  const served = await serve(dir, ['--dns', `127.0.0.1:${port}`, '--no-watch'])
  try {
    const ask = async (p: number): Promise<string> => {
      const r = await udpExchange(p, buildQuery({ name: 'mail.example.test' }))
      return r === undefined ? '(no answer)' : decodeMessage(r).answer[0]?.data ?? ''
    }
    await writeFile(join(dir, 'zones/example.test.yaml'), ZONE('192.0.2.2'))
    await watching.logged('"configuration reloaded"')
    assert.equal(await ask(control), '192.0.2.2', 'the watching server took the edit')
    assert.equal(await ask(port), '192.0.2.1', 'the --no-watch server did not')
    assert.doesNotMatch(served.log.join(''), /configuration reloaded/)
    served.proc.kill('SIGHUP')
    await served.logged('"configuration reloaded"')
    assert.equal(await ask(port), '192.0.2.2')
  } finally {
    await stop(served.proc)
    await stop(watching.proc)
    await rm(dir, { recursive: true, force: true })
  }
})

test('--workers 2: POST /v1/reload reloads every worker; /v1/status says what each serves', async () => {
  const ports = { dns: await freePort(), admin: await freePort() }
  const dir = await writeConfig({
    'gslb.yaml': `listen: { dns: ["127.0.0.1:${ports.dns}"], admin: "127.0.0.1:${ports.admin}" }\n`,
    'zones/example.test.yaml': ZONE('192.0.2.1'),
  })
  const served = await serve(dir, ['--workers', '2', '--no-watch'])
  try {
    const status = async (): Promise<{ version: string, workers: Array<{ worker: string, version: string }> }> =>
      await (await fetch(`http://127.0.0.1:${ports.admin}/v1/status`)).json() as { version: string, workers: Array<{ worker: string, version: string }> }
    const before = await status()
    assert.equal(before.workers.length, 2)
    assert.equal(new Set(before.workers.map(w => w.version)).size, 1)
    await writeFile(join(dir, 'zones/example.test.yaml'), ZONE('192.0.2.2'))
    const res = await fetch(`http://127.0.0.1:${ports.admin}/v1/reload`, { method: 'POST' })
    assert.equal(res.status, 200)
    const body = await res.json() as { version: string, workers: Array<{ ok: boolean, version: string }> }
    assert.equal(body.workers.length, 2)
    assert.ok(body.workers.every(w => w.ok && w.version === body.version))
    assert.notEqual(body.version, before.version)
    const after = await status()
    assert.deepEqual(after.workers.map(w => w.version), [body.version, body.version])
  } finally {
    await stop(served.proc)
    await rm(dir, { recursive: true, force: true })
  }
})

test('a reload that changes a start-only setting applies the rest, keeps the running value and says so', async () => {
  const ports = { dns: await freePort(), admin: await freePort(), other: await freePort() }
  const config = (dns: number, payload: number): string =>
    `listen: { dns: ["127.0.0.1:${dns}"], admin: "127.0.0.1:${ports.admin}" }\ndns: { udp_payload_size: ${payload} }\n`
  const dir = await writeConfig({ 'gslb.yaml': config(ports.dns, 1232), 'zones/example.test.yaml': ZONE('192.0.2.1') })
  const served = await serve(dir, ['--no-watch'])
  try {
    await writeFile(join(dir, 'gslb.yaml'), config(ports.other, 1400))
    await writeFile(join(dir, 'zones/example.test.yaml'), ZONE('192.0.2.9'))
    const r = await run(['admin', 'reload'], dir)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^changed, but applied only after a restart: listen\.dns, dns$/m)
    await served.logged('these settings changed and apply after a restart')
    // The zone change applied, on the listener that was already open.
    const msg = await udpExchange(ports.dns, buildQuery({ name: 'mail.example.test' }))
    assert.ok(msg !== undefined, 'an answer on the listener that was already open')
    assert.equal(decodeMessage(msg).answer[0]?.data, '192.0.2.9')
  } finally {
    await stop(served.proc)
    await rm(dir, { recursive: true, force: true })
  }
})
