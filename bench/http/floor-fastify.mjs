// The floor under gslb: fastify with gslb's server options (timeouts, limits) answering every GET
// with a fixed response carrying the same headers as gslb's (Location, two Link alternates,
// Cache-Control), written the same way (one writeHead), with the same slow-reader guard. No routing,
// health or selection: the gap between this and bare-fastify.mjs is the cost of hardening and of
// the bigger response; the gap between this and gslb is the cost of the decision.
// Usage: node bench/http/floor-fastify.mjs PORT
// FLOOR_OPTIONS (JSON) overrides fastify options, to measure one of them (bench/http/compare.sh).
import Fastify from 'fastify'
import { DEFAULT_LIMITS, serverOptions } from '../../dist/src/http/app.js'
import { guardWriteStalls } from '../../dist/src/http/write-stall.js'

const app = Fastify({ logger: false, ...serverOptions(DEFAULT_LIMITS), ...JSON.parse(process.env.FLOOR_OPTIONS ?? '{}') })
guardWriteStalls(app.server, DEFAULT_LIMITS.writeStallMs, DEFAULT_LIMITS.checkIntervalMs)
const base = ['https://a.example.net/debian', 'https://b.example.net/debian', 'https://c.example.net/debian']
const handler = (req, reply) => {
  const tail = req.raw.url.slice(4) // under /pub
  reply.hijack()
  reply.raw.writeHead(302, {
    link: `<${base[1]}${tail}>; rel=duplicate; pri=1, <${base[2]}${tail}>; rel=duplicate; pri=2`,
    location: `${base[0]}${tail}`,
    'content-length': '0',
    'cache-control': 'no-cache',
  })
  reply.raw.end()
}
app.route({ method: ['GET', 'HEAD'], url: '/', handler })
app.route({ method: ['GET', 'HEAD'], url: '/*', handler })
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 8091) })
process.on('SIGINT', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))
console.log('ready')
