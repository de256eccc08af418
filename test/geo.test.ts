/**
 * Geo placement without sockets: map resolution with a default at every level, longest-prefix
 * `nets` overrides and the ECS scope they need, distance ordering, and the database files: the
 * writer read back by maxmind, the committed demo database equal to a fresh build, and the config
 * errors for a database that cannot place clients.
 */
import assert from 'node:assert/strict'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { loadConfig } from '../src/config/load.js'
import { ClientAddress } from '../src/core/client.js'
import { distanceKm, GeoPlan, mapKeys, type GeoHit, type GeoLocation, type GeoLocator } from '../src/core/geo.js'
import { ConfigError, ErrorCode } from '../src/errors.js'
import { buildCityDatabase, buildFromYaml } from '../src/geo/build-demo.js'
import { openGeoDatabase } from '../src/geo/database.js'
import { writeMmdb } from '../src/geo/mmdb-writer.js'
import { PrefixCache } from '../src/core/prefix-cache.js'
import { writeConfig, zone } from './helpers/stack.js'

const ROOT = join(import.meta.dirname, '..', '..')

const SITES = `sites:
  fra: { country: DE, continent: EU, lat: 50.11, lon: 8.68 }
  nyc: { country: US, continent: NA, lat: 40.71, lon: -74.01 }
  tok: { country: JP, continent: AS, lat: 35.68, lon: 139.65 }
`
const MEMBERS = `    members:
      - { name: fra-1, address: 192.0.2.1, site: fra }
      - { name: nyc-1, address: 192.0.2.2, site: nyc }
      - { name: tok-1, address: 192.0.2.3, site: tok }
`

/** A locator that answers from a table of prefixes, like a database would. */
function fakeLocator (table: Array<{ net: string, bits: number, location?: GeoLocation }>): GeoLocator & { lookups: number } {
  const loc = {
    lookups: 0,
    description: 'fake',
    hasCoordinates: true,
    lookup (client: ClientAddress): GeoHit {
      loc.lookups++
      for (const row of table) {
        const n = ClientAddress.fromText(row.net, 'peer') as ClientAddress
        const bytes = Math.ceil(row.bits / 8)
        if (n.family === client.family && n.bytes.subarray(0, bytes).equals(client.bytes.subarray(0, bytes))) return { location: row.location, prefix: row.bits }
      }
      return { location: undefined, prefix: 8 }
    },
  }
  return loc
}

async function plan (poolYaml: string): Promise<GeoPlan> {
  const dir = await writeConfig({ 'gslb.yaml': `listen: { dns: ["127.0.0.1:0"] }\n${SITES}pools:\n  web:\n${poolYaml}${MEMBERS}`, 'zones/example.test.yaml': zone() })
  try {
    const config = await loadConfig(join(dir, 'gslb.yaml'))
    return new GeoPlan(config.pools[0] as never, new Map(config.sites.map(s => [s.name, s])))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const client = (text: string): ClientAddress => ClientAddress.fromText(text, 'peer') as ClientAddress
const ecs = (text: string, bits: number): ClientAddress => {
  const c = client(text)
  return ClientAddress.fromEcs(c.family === 4 ? 1 : 2, bits, c.bytes.subarray(0, Math.ceil(bits / 8)))
}

describe('geo map', () => {
  const locator = fakeLocator([
    { net: '10.1.0.0', bits: 16, location: { continent: 'EU', country: 'DE', subdivision: 'BY' } },
    { net: '10.2.0.0', bits: 16, location: { continent: 'EU', country: 'FR' } },
    { net: '10.3.0.0', bits: 16, location: { continent: 'AS', country: 'JP' } },
    { net: '10.4.0.0', bits: 16, location: { continent: 'OC', country: 'AU' } },
    { net: '10.5.0.0', bits: 16, location: { continent: 'EU', country: 'DE', subdivision: 'HE' } },
  ])
  const yaml = `    policy: geo
    geo:
      map:
        EU/DE/BY: [tok, fra]
        EU/DE: [fra, nyc]
        EU: [nyc, fra]
        AS: [tok]
        default: [nyc, tok]
      nets:
        10.1.2.0/24: [nyc]
        10.1.2.128/25: [tok]
`
  const cases: Array<{ name: string, client: ClientAddress, sites: string, by: string, rule: string, scope: number }> = [
    // 10.1.9.9 shares 20 bits with 10.1.2.0/24 (a nets entry): 21 bits keep it out.
    { name: 'subdivision entry', client: client('10.1.9.9'), sites: 'tok,fra', by: 'map', rule: 'EU/DE/BY', scope: 21 },
    { name: 'far from every nets entry, the database network is the scope', client: client('10.1.200.9'), sites: 'tok,fra', by: 'map', rule: 'EU/DE/BY', scope: 17 },
    { name: 'a subdivision without an entry falls back to its country', client: client('10.5.1.1'), sites: 'fra,nyc', by: 'map', rule: 'EU/DE', scope: 16 },
    { name: 'a country without an entry falls back to its continent', client: client('10.2.3.4'), sites: 'nyc,fra', by: 'map', rule: 'EU', scope: 16 },
    { name: 'a continent without an entry gets the default', client: client('10.4.0.1'), sites: 'nyc,tok', by: 'default', rule: 'default', scope: 16 },
    { name: 'not in the database: the default, for the empty network', client: client('172.16.0.1'), sites: 'nyc,tok', by: 'default', rule: 'default', scope: 8 },
    { name: 'nets beats the database', client: client('10.1.2.3'), sites: 'nyc', by: 'nets', rule: '10.1.2.0/24', scope: 25 },
    { name: 'the longest nets prefix wins', client: client('10.1.2.200'), sites: 'tok', by: 'nets', rule: '10.1.2.128/25', scope: 25 },
    { name: 'near a nets entry, the scope keeps it out', client: client('10.1.3.1'), sites: 'tok,fra', by: 'map', rule: 'EU/DE/BY', scope: 24 },
    { name: 'an ECS /24 is placed by its network', client: ecs('10.3.7.0', 24), sites: 'tok', by: 'map', rule: 'AS', scope: 16 },
  ]
  for (const c of cases) {
    test(c.name, async () => {
      const p = (await plan(yaml)).place(c.client, locator)
      assert.deepEqual({ sites: p.sites.join(','), by: p.by, rule: p.rule, scope: p.scope }, { sites: c.sites, by: c.by, rule: c.rule, scope: c.scope })
    })
  }

  test('no database: every client gets the default list; placements are cached per client prefix and database', async () => {
    const p = await plan(yaml)
    assert.equal(p.place(client('10.1.9.9'), undefined).sites.join(','), 'nyc,tok')
    const fresh = fakeLocator([{ net: '10.3.0.0', bits: 16, location: { continent: 'AS' } }])
    p.place(ecs('10.3.7.0', 24), fresh)
    p.place(ecs('10.3.7.0', 24), fresh)
    assert.equal(fresh.lookups, 1)
    p.place(ecs('10.3.8.0', 24), fresh)
    assert.equal(fresh.lookups, 2)
  })

  test('mapKeys: most specific first', () => {
    assert.deepEqual(mapKeys({ continent: 'EU', country: 'DE', subdivision: 'BY' }), ['EU/DE/BY', 'EU/DE', 'EU', 'default'])
    assert.deepEqual(mapKeys({ country: 'DE' }), ['default'])
  })
})

describe('nearest', () => {
  const locator = fakeLocator([
    { net: '10.1.0.0', bits: 16, location: { continent: 'EU', country: 'GB', lat: 51.5, lon: -0.13 } },
    { net: '10.2.0.0', bits: 16, location: { continent: 'SA', country: 'BR', lat: -23.55, lon: -46.63 } },
    { net: '10.3.0.0', bits: 16, location: { continent: 'OC', country: 'AU', lat: -33.87, lon: 151.21 } },
    { net: '10.4.0.0', bits: 16, location: { continent: 'EU', country: 'DE' } },
  ])
  test('sites by great-circle distance, nearest first, at most geo.limit', async () => {
    const p = await plan('    policy: nearest\n    geo: { limit: 2, default: [nyc] }\n')
    const london = p.place(client('10.1.0.9'), locator)
    assert.deepEqual([london.sites, london.by, london.distancesKm?.map(km => Math.round(km / 100))], [['fra', 'nyc'], 'distance', [6, 56]])
    assert.deepEqual(p.place(client('10.2.0.9'), locator).sites, ['nyc', 'fra'])
    assert.deepEqual(p.place(client('10.3.0.9'), locator).sites, ['tok', 'nyc'])
    assert.deepEqual(p.place(client('10.4.0.9'), locator).sites, ['nyc'], 'a record without coordinates: geo.default')
    assert.deepEqual(p.place(client('172.16.0.1'), locator).sites, ['nyc'])
  })

  test('distanceKm: known distances within 1%', () => {
    const fraNyc = distanceKm(50.11, 8.68, 40.71, -74.01)
    assert.ok(Math.abs(fraNyc - 6200) / 6200 < 0.01, String(fraNyc))
    assert.equal(distanceKm(1, 2, 1, 2), 0)
  })
})

describe('database files', () => {
  test('the writer\'s networks are read back by maxmind, with prefix lengths, nested networks and the IPv4-mapped alias', async () => {
    const dir = await writeConfig({})
    try {
      const file = join(dir, 'x.mmdb')
      await writeFile(file, buildCityDatabase([
        { network: '10.0.0.0/8', continent: 'EU', country: 'DE', lat: 50, lon: 8 },
        { network: '10.1.2.0/24', continent: 'AS', country: 'JP', subdivision: '13', city: 'Tokyo', lat: 35.6, lon: 139.6 },
        { network: '2001:db8::/32', continent: 'NA', country: 'US' },
      ], { databaseType: 'test-City', description: 'test', buildEpoch: 1 }))
      const db = await openGeoDatabase(file)
      // 10.9.9.9 shares 12 bits with the nested 10.1.2.0/24: its part of the /8 is a /13.
      assert.deepEqual(db.locator.lookup(client('10.9.9.9')), { location: { continent: 'EU', country: 'DE', lat: 50, lon: 8, accuracyKm: 20 }, prefix: 13 })
      assert.deepEqual(db.locator.lookup(client('10.1.2.3')), { location: { continent: 'AS', country: 'JP', subdivision: '13', city: 'Tokyo', lat: 35.6, lon: 139.6, accuracyKm: 20 }, prefix: 24 })
      assert.equal(db.locator.lookup(client('10.1.3.3')).prefix, 24, 'the /8 around a nested /24 is split')
      assert.equal(db.locator.lookup(client('2001:db8:5::1')).location?.country, 'US')
      // An IPv4-mapped ECS subnet is the IPv4 client: Tokyo's /24, with its IPv4 prefix.
      const mapped = db.locator.lookup(ClientAddress.fromEcs(2, 120, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2])))
      assert.deepEqual([mapped.location?.country, mapped.prefix], ['JP', 24])
      assert.equal(db.type, 'test-City')
      assert.equal(db.locator.hasCoordinates, true)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('the writer keeps a more specific network listed before a less specific one, and writes ::/0', async () => {
    const dir = await writeConfig({})
    try {
      const file = join(dir, 'y.mmdb')
      await writeFile(file, buildCityDatabase([
        { network: '10.1.2.0/24', continent: 'AS', country: 'JP' },
        { network: '10.0.0.0/8', continent: 'EU', country: 'DE' },
      ], { databaseType: 'test-City', description: 'order', buildEpoch: 1 }))
      const db = await openGeoDatabase(file)
      assert.equal(db.locator.lookup(client('10.1.2.3')).location?.country, 'JP')
      assert.equal(db.locator.lookup(client('10.7.7.7')).location?.country, 'DE')
      await writeFile(file, writeMmdb([{ network: '::/0', data: { country: { iso_code: 'AQ' } } }], { databaseType: 'test-Country', description: 'all', buildEpoch: 1 }))
      const all = await openGeoDatabase(file)
      assert.equal(all.locator.lookup(client('2001:db8::1')).location?.country, 'AQ')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('the prefix caches stay bounded and keep recent entries', () => {
    const c = new PrefixCache<number, number>(3)
    for (let i = 0; i < 10; i++) c.set(i, i * 10)
    assert.equal(c.get(9), 90)
    assert.equal(c.get(0), undefined, 'old entries are dropped a generation at a time')
    assert.equal(c.get(7), 70, 'the previous generation is still found')
  })

  test('geo/demo-city.mmdb is what npm run geo:demo builds from geo/demo.yaml', async () => {
    const built = buildFromYaml(await readFile(join(ROOT, 'geo', 'demo.yaml'), 'utf8'))
    assert.ok(built.equals(await readFile(join(ROOT, 'geo', 'demo-city.mmdb'))), 'rebuild the demo database: npm run geo:demo')
  })

  const files = async (db: Buffer | string, pools = ''): Promise<string> => writeConfig({
    'gslb.yaml': `listen: { dns: ["127.0.0.1:0"] }\ngeo: { database: geo.mmdb }\n${SITES}${pools}`,
    'zones/example.test.yaml': zone(),
    ...(db === '' ? {} : { 'geo.mmdb': db }),
  })
  for (const c of [
    { name: 'a missing file', db: '', pools: '', error: /geo\.mmdb: cannot read the geo database: ENOENT/ },
    { name: 'a file that is not a MaxMind DB', db: 'hello', pools: '', error: /not a MaxMind DB file/ },
    { name: 'an ASN database', db: writeMmdb([{ network: '10.0.0.0/8', data: { autonomous_system_number: 64500 } }], { databaseType: 'GeoLite2-ASN', description: 'asn', buildEpoch: 1 }), pools: '', error: /database type "GeoLite2-ASN" has no locations/ },
    { name: 'a Country database for a nearest pool', db: buildCityDatabase([{ network: '10.0.0.0/8', continent: 'EU', country: 'DE' }], { databaseType: 'GeoLite2-Country', description: 'c', buildEpoch: 1 }), pools: `pools:\n  web:\n    policy: nearest\n${MEMBERS}`, error: /GeoLite2-Country database, without coordinates: pool web \(policy nearest\) needs a City database/ },
  ]) {
    test(`${c.name} is a config error naming the file (GSLB_E_GEO_DATABASE)`, async () => {
      const dir = await files(c.db, c.pools)
      try {
        const err = await loadConfig(join(dir, 'gslb.yaml')).then(() => undefined, (e: unknown) => e)
        assert.ok(err instanceof ConfigError)
        const issue = err.issues.find(i => i.code === ErrorCode.GEO_DATABASE)
        assert.match(issue?.message ?? err.message, c.error)
        assert.equal(issue?.path, 'geo.database')
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })
  }
})
