/**
 * Builds a City-format MaxMind DB from a YAML list of networks (geo/demo.yaml is the demo's):
 *
 *   node dist/src/geo/build-demo.js geo/demo.yaml geo/demo-city.mmdb     (npm run geo:demo)
 *
 * Each network becomes a GeoIP2 City record (continent, country, subdivision, city, location), so
 * gslb, maxmind's readers and libmaxminddb's mmdblookup read it as they read GeoLite2-City. The
 * build epoch comes from the YAML, so the same YAML always gives the same file.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { parse } from 'yaml'
import { Double, writeMmdb, type MmdbNetwork } from './mmdb-writer.js'

export interface CityNetwork {
  readonly network: string
  readonly continent: string
  readonly country: string
  readonly subdivision?: string
  readonly city?: string
  readonly lat?: number
  readonly lon?: number
  readonly accuracy?: number
}

const CONTINENT_NAMES: Record<string, string> = { AF: 'Africa', AN: 'Antarctica', AS: 'Asia', EU: 'Europe', NA: 'North America', OC: 'Oceania', SA: 'South America' }

export function buildCityDatabase (networks: readonly CityNetwork[], opts: { databaseType: string, description: string, buildEpoch: number }): Buffer {
  const records: MmdbNetwork[] = networks.map(n => ({
    network: n.network,
    data: {
      continent: { code: n.continent, names: { en: CONTINENT_NAMES[n.continent] ?? n.continent } },
      country: { iso_code: n.country, names: { en: n.country } },
      registered_country: { iso_code: n.country, names: { en: n.country } },
      ...(n.subdivision === undefined ? {} : { subdivisions: [{ iso_code: n.subdivision, names: { en: n.subdivision } }] }),
      ...(n.city === undefined ? {} : { city: { names: { en: n.city } } }),
      ...(n.lat === undefined || n.lon === undefined ? {} : { location: { latitude: new Double(n.lat), longitude: new Double(n.lon), accuracy_radius: n.accuracy ?? 20 } }),
    },
  }))
  return writeMmdb(records, opts)
}

/** The database described by a YAML file such as geo/demo.yaml. */
export function buildFromYaml (text: string): Buffer {
  const doc = parse(text) as { database_type?: string, description?: string, build_epoch?: number, networks?: CityNetwork[] }
  return buildCityDatabase(doc.networks ?? [], {
    databaseType: doc.database_type ?? 'gslb-City',
    description: doc.description ?? 'built by gslb',
    buildEpoch: doc.build_epoch ?? 0,
  })
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const [input, output] = process.argv.slice(2)
  if (input === undefined || output === undefined) {
    process.stderr.write('usage: node dist/src/geo/build-demo.js NETWORKS.yaml OUT.mmdb\n')
    process.exit(2)
  }
  await writeFile(output, buildFromYaml(await readFile(input, 'utf8')))
  process.stdout.write(`wrote ${output}\n`)
}
