/**
 * The dashboard on the admin listener: the page at `/` (static files from public/, no build step,
 * no library), what it needs to start (`GET /v1/dashboard`), and a server-sent event stream of
 * changes and shares (`GET /v1/events`). The page reads everything else from the admin API it
 * already has: /v1/pools, /v1/explain, the member and site admin changes, and the demo's faults.
 * docs/dashboard.md.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Snapshot } from '../core/core.js'
import type { DashboardFeed, FeedEvent } from './feed.js'
import { clientPresets } from './presets.js'

const PUBLIC = join(import.meta.dirname, '..', '..', '..', 'src', 'dashboard', 'public')
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
}

/** A comment line this often keeps proxies from closing a quiet stream. */
const KEEPALIVE_MS = 15_000
/** Unsent bytes past which a stream's client is taken as gone. */
const MAX_BUFFERED = 1 << 20

/** Paths served without the admin token: the page and its files hold no data. */
export function isPublicPath (url: string): boolean {
  const path = url.split('?')[0] ?? ''
  return path === '/' || (path.startsWith('/dashboard/') && Object.hasOwn(FILES, path.slice('/dashboard/'.length)))
}

export interface DashboardOptions {
  readonly feed: DashboardFeed
  readonly snapshot: () => Snapshot
  /** Whether the demo's fault API is on this listener. */
  readonly demo: boolean
}

/** Registers the routes; returns a function that ends every open event stream (on stop). */
export function registerDashboard (f: FastifyInstance, opts: DashboardOptions): () => void {
  const files = new Map(Object.entries(FILES).map(([name, type]) => [name, { type, body: readFileSync(join(PUBLIC, name)) }]))
  const streams = new Set<() => void>()

  const sendFile = (name: string) => async (_req: unknown, reply: FastifyReply): Promise<FastifyReply> => {
    const file = files.get(name)
    if (file === undefined) throw new Error(`dashboard file ${name} missing`)
    return await reply.type(file.type).header('cache-control', 'no-cache').send(file.body)
  }
  f.get('/', sendFile('index.html'))
  for (const name of files.keys()) f.get(`/dashboard/${name}`, sendFile(name))

  f.get('/v1/dashboard', async () => {
    const s = opts.snapshot()
    const names = s.config.zones.flatMap(z => z.owners.filter(o => o.pool !== undefined).map(o => ({ name: o.name, pool: o.pool })))
    const urls = s.config.redirects.map(r => ({ url: `http://${(r.hosts[0] ?? 'localhost').replace(/^\*\./, 'www.')}${r.path}file.iso`, pool: r.pool }))
    return {
      version: s.config.version,
      demo: opts.demo,
      counting: opts.feed.counting,
      sites: s.config.sites.map(x => x.name),
      names,
      urls,
      clients: clientPresets(s),
      timeline: opts.feed.timeline,
    }
  })

  f.get('/v1/events', async (req, reply) => {
    reply.hijack()
    const res = reply.raw
    // The admin listener closes idle connections after 10 s; a stream is idle between events by design.
    req.raw.socket.setTimeout(0)
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    res.write(': gslb events\n\n')
    const send = (e: FeedEvent): void => {
      // A client that stops reading is dropped, not buffered for without end.
      if (res.writableLength > MAX_BUFFERED) { end(); res.destroy(); return }
      res.write(`event: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`)
    }
    const unsubscribe = opts.feed.subscribe(send)
    // A comment now and then keeps proxies and idle timeouts from closing a quiet stream.
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS)
    function end (): void {
      clearInterval(keepAlive)
      unsubscribe()
      streams.delete(end)
      if (!res.writableEnded) res.end()
    }
    streams.add(end)
    req.raw.socket.once('close', end)
  })

  return () => { for (const end of [...streams]) end() }
}
