/**
 * The redirect handler alone, called in a loop with stand-in request and reply objects: what the
 * decision costs without Node's HTTP stack and the kernel around it (inside a running server it
 * costs 2–4× more, the caches being cold). Config: bench/http/gslb.yaml, members taken as up.
 *
 *   npm run build && taskset -c 0 node dist/bench/http/handler-loop.js [--calls 2000000] [--rounds 7]
 * Prints ns per call for each round and their median.
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { loadConfig } from '../../src/config/load.js'
import { systemClock } from '../../src/core/clock.js'
import { GslbCore } from '../../src/core/core.js'
import { redirectHandler } from '../../src/http/app.js'
import { silentLogger } from '../../src/log.js'
import { createProbe } from '../../src/probes/index.js'

const { values } = parseArgs({ options: { calls: { type: 'string', default: '2000000' }, rounds: { type: 'string', default: '7' } } })
const CALLS = Number(values.calls)
const ROUNDS = Number(values.rounds)

const file = join(import.meta.dirname, '..', '..', '..', 'bench', 'http', 'gslb.yaml')
const config = await loadConfig(file, {})
// Not started: no checks run, every member keeps health.initial_state (up).
const core = new GslbCore(config, { clock: systemClock, log: silentLogger, probeFor: createProbe })
const handler = redirectHandler({ snapshot: () => core.snapshot, http: config.http })

let written = 0
const raw = { writeHead (_status: number, headers: Record<string, string>) { written += (headers.location?.length ?? 0) + (headers.link?.length ?? 0) }, end () {} }
const reply = { raw, hijack () {}, code () { return this }, header () { return this }, headers () { return this }, send () {} } as unknown as FastifyReply
const targets = ['/pub/dists/bookworm/main/binary-amd64/Packages.xz?v=1', '/pub/pool/main/a/apt/apt_2.6.1_amd64.deb', '/pub/dists/bookworm/InRelease']
const requests = targets.map(url => ({
  raw: { url, rawHeaders: ['Host', 'dl.example.test', 'User-Agent', 'wrk', 'Accept', '*/*'], socket: { remoteAddress: '127.0.0.1' } },
}) as unknown as FastifyRequest)

const perCall: number[] = []
for (let r = 0; r < ROUNDS; r++) {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < CALLS; i++) handler(requests[i % requests.length] as FastifyRequest, reply)
  perCall.push(Number(process.hrtime.bigint() - t0) / CALLS)
}
if (written === 0) throw new Error('the handler wrote no redirect')
const sorted = [...perCall].sort((a, b) => a - b)
console.log(`ns per call, each round: ${perCall.map(n => n.toFixed(0)).join(' ')}`)
console.log(`median: ${(sorted[Math.floor(sorted.length / 2)] as number).toFixed(0)} ns per call (${CALLS} calls per round, node ${process.version})`)
