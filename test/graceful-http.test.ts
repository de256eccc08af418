/**
 * closeGracefully on a plain Node HTTP server: a response still being prepared when the stop
 * begins goes out with Connection: close and its connection ends right after it, even when it
 * finishes after the keep-alive grace; an idle connection is closed after the grace; the stop
 * never outlives its bound.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import { connect } from 'node:net'
import { test } from 'node:test'
import { closeGracefully, trackConnections } from '../src/net/graceful-http.js'

test('a slow response in flight at the stop says Connection: close; idle connections close after the grace', async () => {
  const pending: ServerResponse[] = []
  let arrived: () => void = () => {}
  const arrival = new Promise<void>(resolve => { arrived = resolve })
  const server = createServer((req, res) => {
    if (req.url === '/slow') { pending.push(res); arrived(); return }
    res.end('fast')
  })
  trackConnections(server)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port

  const slow = connect({ port, host: '127.0.0.1' })
  let slowData = ''
  slow.on('data', d => { slowData += d.toString() })
  slow.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n')
  const idle = connect({ port, host: '127.0.0.1' })
  idle.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n')
  await once(idle, 'data')
  await arrival

  const stopped = closeGracefully(server, { graceMs: 50, timeoutMs: 5000 })
  await once(idle, 'close') // closed once the grace is over, with nothing in flight
  assert.equal(slow.destroyed, false, 'the connection with a response in flight stays open')
  pending[0]?.end('late') // finishes after the grace
  await once(slow, 'close')
  assert.match(slowData, /^HTTP\/1\.1 200 OK\r\n/)
  assert.match(slowData, /\r\nConnection: close\r\n/i)
  await stopped
})

test('the bound destroys what is left', async () => {
  const server = createServer(() => { /* never answers */ })
  trackConnections(server)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const c = connect({ port, host: '127.0.0.1' })
  c.on('error', () => {})
  c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  await once(server, 'request')
  await closeGracefully(server, { graceMs: 10, timeoutMs: 200 })
  assert.equal(server.listening, false)
})
