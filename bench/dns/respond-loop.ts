/**
 * The DNS responder alone, in a loop: what answering costs without sockets, for the static,
 * pool and geo cases of bench/dns (config bench/dns/gslb.yaml, members taken as up; the geo
 * case's database and ECS queries come from geo-setup.js, run first).
 *
 *   npm run build && node dist/bench/dns/geo-setup.js /tmp/gslb-bench-dns-geo
 *   taskset -c 0 node dist/bench/dns/respond-loop.js [--calls 1000000] [--rounds 5]
 * Prints ns per query for each case: each round, and the median.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig } from '../../src/config/load.js'
import { systemClock } from '../../src/core/clock.js'
import { GslbCore } from '../../src/core/core.js'
import { SelectionState } from '../../src/core/select.js'
import { TYPE } from '../../src/dns/constants.js'
import { encodeQuery } from '../../src/dns/encode-query.js'
import { respond } from '../../src/dns/responder.js'
import { DnsServing } from '../../src/dns/serving.js'
import { openGeoDatabase } from '../../src/geo/database.js'
import { silentLogger } from '../../src/log.js'
import { createProbe } from '../../src/probes/index.js'

const { values } = parseArgs({ options: { calls: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '5' } } })
const CALLS = Number(values.calls)
const ROUNDS = Number(values.rounds)

const config = await loadConfig(join(import.meta.dirname, '..', '..', '..', 'bench', 'dns', 'gslb.yaml'), {})
const core = new GslbCore(config, { clock: systemClock, log: silentLogger, probeFor: createProbe })
if (config.geo.databasePath !== undefined) core.setGeo((await openGeoDatabase(config.geo.databasePath)).locator)
const serving = new DnsServing(core.snapshot)
const selection = new SelectionState()
const opts = { udpPayloadSize: 1232 }

const bin = await readFile('/tmp/gslb-bench-dns-geo/queries-geo.bin')
const geoQueries: Buffer[] = []
for (let at = 0; at < bin.length;) { const len = bin.readUInt16BE(at); geoQueries.push(bin.subarray(at + 2, at + 2 + len)); at += 2 + len }

const cases: Array<[string, Buffer[]]> = [
  ['static A', [encodeQuery({ name: 'www.bench.test', type: TYPE.A })]],
  ['pool (weighted)', [encodeQuery({ name: 'www.pool.bench.test', type: TYPE.A })]],
  ['geo (ECS, 10,000 /24s)', geoQueries],
]
for (const [label, queries] of cases) {
  const perQuery: number[] = []
  let bytes = 0
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < CALLS; i++) bytes += respond(queries[i % queries.length] as Buffer, false, serving.get(), opts, undefined, '127.0.0.1', selection)?.length ?? 0
    perQuery.push(Number(process.hrtime.bigint() - t0) / CALLS)
  }
  if (bytes === 0) throw new Error(`${label}: no answers`)
  const sorted = [...perQuery].sort((a, b) => a - b)
  console.log(`${label.padEnd(24)} ns per query: ${perQuery.map(n => n.toFixed(0)).join(' ')}  median ${(sorted[Math.floor(sorted.length / 2)] as number).toFixed(0)}`)
}
