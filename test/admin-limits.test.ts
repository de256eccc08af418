/**
 * The admin listener's own limits (admin/app.ts ADMIN_LIMITS, docs/security.md): a connection
 * cap that a flood of idle connections cannot push past, small bodies and headers.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { ADMIN_LIMITS } from '../src/admin/app.js'
import { startStack, zone, type Stack } from './helpers/stack.js'

/** One raw HTTP/1.1 exchange: the status code, or 'closed' when the connection ends with no answer. */
async function raw (port: number, request: string): Promise<number | 'closed'> {
  const s = connect(port, '127.0.0.1')
  let data = ''
  s.on('data', d => { data += d.toString('latin1') })
  s.on('error', () => {})
  s.write(request)
  await once(s, 'close')
  const m = /^HTTP\/1\.1 (\d{3})/.exec(data)
  return m === null ? 'closed' : Number(m[1])
}

describe('admin listener limits', () => {
  let stack: Stack
  let port: number
  before(async () => {
    stack = await startStack({
      'gslb.yaml': 'listen: { dns: ["127.0.0.1:0"], admin: "127.0.0.1:0" }\nzones: zones/\n',
      'zones/example.test.yaml': zone(),
    })
    port = stack.adminPort as number
  })
  after(async () => { await stack.close() })

  test(`${ADMIN_LIMITS.connections} idle connections fill it: the next one is closed unanswered; when they go, it answers again`, async () => {
    const idle: Socket[] = []
    for (let i = 0; i < ADMIN_LIMITS.connections; i++) {
      const s = connect(port, '127.0.0.1')
      s.on('error', () => {})
      await once(s, 'connect')
      idle.push(s)
    }
    // The server counts a connection once it has accepted it: ask until the last one is in.
    const get = 'GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'
    assert.equal(await raw(port, get), 'closed')
    for (const s of idle) s.destroy()
    let status: number | 'closed' = 'closed'
    for (let i = 0; i < 50 && status === 'closed'; i++) status = await raw(port, get)
    assert.equal(status, 200)
  })

  test('a body over 4 KiB is 413, headers over 8 KiB are 431', async () => {
    const body = JSON.stringify({ note: 'x'.repeat(ADMIN_LIMITS.bodyBytes) })
    assert.equal(await raw(port, `POST /v1/reload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`), 413)
    assert.equal(await raw(port, `GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'y'.repeat(ADMIN_LIMITS.headerBytes)}\r\nConnection: close\r\n\r\n`), 431)
  })
})
