// The baseline: a bare fastify app answering every GET with a fixed 302 (no routing, no health,
// no selection). Usage: node bench/http/bare-fastify.mjs PORT
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/*', async (req, reply) => reply.code(302).header('location', `https://m1.example.net/debian${req.url}`).send())
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 8090) })
process.on('SIGINT', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))
console.log('ready')
