/**
 * Inputs of the geo case of bench/dns/run.sh, written to the directory given:
 *   bench-geo.mmdb   a City database of 4,096 networks (the /20s of 10.0.0.0/8) on six continents
 *   queries-geo.bin  10,000 queries for geo.pool.bench.test A, each with an ECS option for a
 *                    different client /24 (10.0.0.0/24 … 10.39.15.0/24), in dnsperf's -B format
 *                    (each message prefixed by its 2-byte length)
 * Usage: node dist/bench/dns/geo-setup.js DIR
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TYPE } from '../../src/dns/constants.js'
import { encodeQuery } from '../../src/dns/encode-query.js'
import { buildCityDatabase, type CityNetwork } from '../../src/geo/build-demo.js'

const PLACES: ReadonlyArray<Omit<CityNetwork, 'network'>> = [
  { continent: 'EU', country: 'DE', lat: 50.11, lon: 8.68 },
  { continent: 'NA', country: 'US', lat: 40.71, lon: -74.01 },
  { continent: 'AS', country: 'JP', lat: 35.68, lon: 139.65 },
  { continent: 'SA', country: 'BR', lat: -23.55, lon: -46.63 },
  { continent: 'OC', country: 'AU', lat: -33.87, lon: 151.21 },
  { continent: 'AF', country: 'ZA', lat: -26.2, lon: 28.05 },
]

const dir = process.argv[2]
if (dir === undefined) { process.stderr.write('usage: geo-setup.js DIR\n'); process.exit(2) }

const networks: CityNetwork[] = []
for (let i = 0; i < 4096; i++) networks.push({ network: `10.${i >> 4}.${(i & 15) << 4}.0/20`, ...(PLACES[i % PLACES.length] as Omit<CityNetwork, 'network'>) })
await writeFile(join(dir, 'bench-geo.mmdb'), buildCityDatabase(networks, { databaseType: 'bench-City', description: 'gslb DNS benchmark', buildEpoch: 1 }))

const parts: Buffer[] = []
for (let i = 0; i < 10_000; i++) {
  const q = encodeQuery({ name: 'geo.pool.bench.test', type: TYPE.A, ecs: { family: 1, source: 24, address: Uint8Array.from([10, i >> 8, i & 255]) } }, i & 0xffff)
  const len = Buffer.alloc(2)
  len.writeUInt16BE(q.length)
  parts.push(len, q)
}
await writeFile(join(dir, 'queries-geo.bin'), Buffer.concat(parts))
