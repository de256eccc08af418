/**
 * docker-compose.yml agrees with the repository (Docker cannot run here, so the topology is checked
 * as files): every service has an image or a build, every bind-mounted file exists, the ports each
 * service exposes are the ones its configuration listens on, and the static addresses are the ones
 * deploy/compose/gslb.yaml, its zone, the HAProxy configurations and unbound.conf name; the two gslb
 * nodes share one configuration and the redis service under distinct host names. Then each
 * configuration passes its own checker: `gslb check`, `haproxy -c`, `unbound-checkconf` and
 * `docker-compose config`, each when installed.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { parse } from 'yaml'
import { run } from './helpers/process.js'

const ROOT = join(import.meta.dirname, '..', '..')
const DEPLOY = join(ROOT, 'deploy', 'compose')
const SITES = ['fra', 'nyc', 'tok'] as const
/** The gslb nodes: one mounted configuration, each its own addresses and host name (its cluster node name). */
const NODES = ['gslb', 'gslb2'] as const

interface Service {
  image?: string
  build?: string | { context: string }
  command?: string[]
  hostname?: string
  depends_on?: string[]
  volumes?: string[]
  ports?: string[]
  expose?: string[]
  dns?: string[]
  networks?: Record<string, { ipv4_address?: string }>
}
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>
  networks: Record<string, { ipam?: { config?: Array<{ subnet?: string }> } }>
  volumes?: Record<string, unknown>
}
const gslb = parse(readFileSync(join(DEPLOY, 'gslb.yaml'), 'utf8')) as {
  listen: { dns: string[], http: string }
  cluster?: { node?: string, redis: string }
  checks: Record<string, { type: string, port: number }>
  pools: Record<string, { check: string, members: Array<{ name: string, address: string, site: string, url: string }> }>
}
const service = (name: string): Service => compose.services[name] ?? assert.fail(`no service ${name}`)
const ipOf = (name: string): string => Object.values(service(name).networks ?? {})[0]?.ipv4_address ?? assert.fail(`${name} has no static address`)
/** "ADDR:PORT" → [ADDR, PORT]. */
const split = (hostPort: string): [string, number] => { const i = hostPort.lastIndexOf(':'); return [hostPort.slice(0, i), Number(hostPort.slice(i + 1))] }
/** Container-side ports of a service, "53/udp" style (tcp when unsaid), from `ports` and `expose`. */
function containerPorts (s: Service): Set<string> {
  const out = new Set<string>()
  for (const p of s.ports ?? []) { const c = p.split(':').at(-1) ?? ''; out.add(c.includes('/') ? c : `${c}/tcp`) }
  for (const p of s.expose ?? []) out.add(p.includes('/') ? p : `${p}/tcp`)
  return out
}

/** An HAProxy configuration's `bind` addresses and `server` lines. */
function haproxyCfg (site: string): { binds: Array<[string, number]>, servers: Array<{ name: string, address: string, port: number }> } {
  const text = readFileSync(join(DEPLOY, 'haproxy', `${site}.cfg`), 'utf8')
  const binds = [...text.matchAll(/^\s*bind\s+(\S+)/gm)].map(m => split(m[1] ?? ''))
  const servers = [...text.matchAll(/^\s*server\s+(\S+)\s+(\S+)/gm)].map(m => { const [address, port] = split(m[2] ?? ''); return { name: m[1] ?? '', address, port } })
  return { binds, servers }
}
/** The image's command (the Dockerfile's CMD). */
const imageCmd = JSON.parse(/^CMD (\[.*\])$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? '[]') as string[]
/**
 * Where a gslb service listens: the file's listen.dns and listen.http, or what its command's --dns
 * and --http replace them with (the command must be the image's, plus those flags).
 */
function listenOf (name: string): { dns: Array<[string, number]>, http: [string, number] } {
  const command = service(name).command ?? imageCmd
  assert.deepEqual(command.slice(0, imageCmd.length), imageCmd, `${name} runs the image's command`)
  const flags = command.slice(imageCmd.length)
  const dns: string[] = []
  let http = gslb.listen.http
  for (let i = 0; i < flags.length; i += 2) {
    const flag = flags[i] ?? ''
    const value = flags[i + 1] ?? assert.fail(`${name}: ${flag} without a value`)
    if (flag === '--dns') dns.push(value)
    else if (flag === '--http') http = value
    else assert.fail(`${name}: unexpected ${flag}`)
  }
  return { dns: (dns.length > 0 ? dns : gslb.listen.dns).map(split), http: split(http) }
}
const zone = parse(readFileSync(join(DEPLOY, 'zones', 'example.test.yaml'), 'utf8')) as {
  zone: string
  records: Record<string, { NS?: string[], A?: string | string[] }>
}
/** A record's A addresses, by its name inside the zone ("ns1") or its full name ("ns1.example.test"). */
const zoneA = (name: string): string[] => [zone.records[name.replace(new RegExp(`\\.${zone.zone}\\.?$`), '')]?.A ?? []].flat()
const unbound = readFileSync(join(DEPLOY, 'unbound.conf'), 'utf8')
const unboundKey = (key: string): string[] => [...unbound.matchAll(new RegExp(`^\\s*${key}:\\s*"?([^"\\s]+)"?`, 'gm'))].map(m => m[1] ?? '')

describe('docker-compose.yml agrees with the repository', () => {
  test('every service has an image or a build whose Dockerfile exists', () => {
    const names = Object.keys(compose.services).sort()
    assert.deepEqual(names, ['client', ...NODES, 'redis', 'unbound', ...SITES.flatMap(s => [s, `${s}-1`, `${s}-2`])].sort())
    for (const [name, s] of Object.entries(compose.services)) {
      assert.ok(s.image !== undefined || s.build !== undefined, `${name} has neither image nor build`)
      if (s.build !== undefined) {
        const context = typeof s.build === 'string' ? s.build : s.build.context
        assert.ok(existsSync(join(ROOT, context, 'Dockerfile')), `${name}: no Dockerfile in ${context}`)
      }
    }
  })

  test('every bind-mounted source exists; named volumes are declared', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0] ?? ''
        if (source.startsWith('.') || source.startsWith('/')) assert.ok(existsSync(join(ROOT, source)), `${name}: ${source} does not exist`)
        else assert.ok(compose.volumes !== undefined && source in compose.volumes, `${name}: volume ${source} not declared`)
      }
    }
  })

  test('static addresses are unique and inside the network\'s subnet', () => {
    const subnet = Object.values(compose.networks)[0]?.ipam?.config?.[0]?.subnet
    assert.equal(subnet, '10.53.0.0/24')
    const ips = Object.keys(compose.services).map(ipOf)
    assert.equal(new Set(ips).size, ips.length, `duplicate addresses: ${ips.join(' ')}`)
    for (const ip of ips) assert.match(ip, /^10\.53\.0\.\d{1,3}$/)
  })

  test('each gslb node listens on its own address, on the ports the service publishes', () => {
    assert.deepEqual(imageCmd, ['node', 'dist/src/cli/main.js', 'serve', '-c', '/etc/gslb/gslb.yaml'])
    for (const name of NODES) {
      const { dns, http } = listenOf(name)
      for (const [address] of [...dns, http]) assert.equal(address, ipOf(name), `${name} listens on ${address}`)
      const want = new Set([...dns.flatMap(([, p]) => [`${p}/udp`, `${p}/tcp`]), `${http[1]}/tcp`])
      assert.deepEqual(containerPorts(service(name)), want, name)
      const mounts = service(name).volumes ?? []
      assert.ok(mounts.some(v => v.startsWith('./deploy/compose/gslb.yaml:/etc/gslb/gslb.yaml')), `${name}: the config is mounted where the Dockerfile serves it from`)
    }
    const published = NODES.flatMap(n => (service(n).ports ?? []).map(p => p.split(':').slice(0, -1).join(':') + '/' + (p.split('/')[1] ?? 'tcp')))
    assert.equal(new Set(published).size, published.length, `host ports published twice: ${published.join(' ')}`)
  })

  test('the gslb nodes mount the same files, each its own state volume, under distinct host names, on the redis service', () => {
    const [a, b] = NODES.map(n => service(n).volumes ?? [])
    const state = (v: string): boolean => v.endsWith(':/var/lib/gslb')
    assert.deepEqual(a?.filter(v => !state(v)), b?.filter(v => !state(v)))
    const states = NODES.map(n => (service(n).volumes ?? []).find(state))
    assert.ok(states.every(v => v !== undefined) && new Set(states).size === NODES.length, `state volumes: ${states.join(' ')}`)
    // No cluster.node in the shared file: each node is named after its host name, set per service.
    assert.equal(gslb.cluster?.node, undefined)
    const hostnames = NODES.map(n => service(n).hostname)
    assert.ok(hostnames.every(h => h !== undefined && /^[A-Za-z0-9][\w.-]{0,62}$/.test(h)), `host names: ${hostnames.join(' ')}`)
    assert.equal(new Set(hostnames).size, NODES.length, `host names: ${hostnames.join(' ')}`)
    const redis = new URL(gslb.cluster?.redis ?? assert.fail('no cluster.redis'))
    assert.equal(redis.hostname, ipOf('redis'))
    assert.ok(containerPorts(service('redis')).has(`${redis.port === '' ? 6379 : redis.port}/tcp`), `redis does not expose ${redis.port}`)
    for (const n of NODES) assert.ok(service(n).depends_on?.includes('redis'), `${n} starts after redis`)
  })

  test('each pool member is its site\'s farm, checked on the port the farm\'s stats listen on', () => {
    for (const [pool, p] of Object.entries(gslb.pools)) {
      const check = gslb.checks[p.check]
      assert.equal(check?.type, 'haproxy', `${pool}: check ${p.check}`)
      assert.deepEqual(p.members.map(m => m.site).sort(), [...SITES])
      for (const m of p.members) {
        const farm = ipOf(m.site)
        assert.equal(m.address, farm, `${pool}/${m.name}`)
        const binds = haproxyCfg(m.site).binds
        assert.deepEqual(binds.filter(([, port]) => port === check?.port), [[farm, check?.port]], `${m.site}: stats on ${farm}:${String(check?.port)}`)
        const url = new URL(m.url)
        assert.ok(binds.some(([a, port]) => a === url.hostname && port === Number(url.port === '' ? 80 : url.port)), `${pool}/${m.name}: ${m.url} is not a bind of ${m.site}.cfg`)
      }
    }
  })

  test('each farm binds on its own address the ports it exposes, in front of its two backend services', () => {
    for (const site of SITES) {
      const { binds, servers } = haproxyCfg(site)
      for (const [address] of binds) assert.equal(address, ipOf(site), `${site}.cfg binds ${address}`)
      assert.deepEqual(containerPorts(service(site)), new Set(binds.map(([, p]) => `${p}/tcp`)))
      assert.deepEqual(servers.map(s => s.name), [`${site}-1`, `${site}-2`])
      for (const s of servers) {
        const backend = service(s.name)
        assert.equal(s.address, ipOf(s.name), `${site}.cfg: server ${s.name}`)
        assert.ok(containerPorts(backend).has(`${s.port}/tcp`), `${s.name} does not expose ${s.port}`)
        assert.deepEqual(backend.command?.slice(-2), [s.address, String(s.port)], `${s.name} listens where ${site}.cfg sends`)
      }
    }
  })

  test('the zone names both gslb nodes as its name servers, and dl as both redirect services', () => {
    const ns = zone.records['@']?.NS ?? []
    assert.equal(ns.length, NODES.length, `NS: ${ns.join(' ')}`)
    const nsAddresses = ns.map(name => { const a = zoneA(name); assert.equal(a.length, 1, `${name}: one A record (glue), got ${a.join(' ')}`); return a[0] })
    assert.deepEqual(nsAddresses.sort(), NODES.map(ipOf).sort())
    assert.deepEqual(zoneA('dl').sort(), NODES.map(n => listenOf(n).http[0]).sort())
  })

  test('unbound listens on its address and sends example.test to both gslb nodes; the client asks unbound', () => {
    assert.deepEqual(unboundKey('interface'), [ipOf('unbound')])
    const port = unboundKey('port')[0] ?? '53'
    assert.deepEqual(containerPorts(service('unbound')), new Set([`${port}/udp`, `${port}/tcp`]))
    assert.deepEqual(unboundKey('stub-addr'), NODES.flatMap(n => listenOf(n).dns.map(([a, p]) => `${a}@${p}`)))
    assert.deepEqual(service('client').dns, [ipOf('unbound')])
  })
})

describe('each configuration passes its own checker', () => {
  test('gslb check', async () => {
    const r = await run(['check', '-c', join(DEPLOY, 'gslb.yaml')], ROOT)
    assert.equal(r.code, 0, r.stdout + r.stderr)
  })

  for (const site of SITES) {
    test(`haproxy -c ${site}.cfg`, { skip: tool('/usr/sbin/haproxy') }, async () => {
      const r = await exec('/usr/sbin/haproxy', ['-c', '-f', join(DEPLOY, 'haproxy', `${site}.cfg`)])
      assert.equal(r.code, 0, r.out)
    })
  }

  test('unbound-checkconf', { skip: tool('/usr/sbin/unbound-checkconf') }, async () => {
    // unbound-checkconf needs the paths the file names (directory) to exist, as they do on Debian.
    const r = await exec('/usr/sbin/unbound-checkconf', [join(DEPLOY, 'unbound.conf')])
    assert.equal(r.code, 0, r.out)
  })

  test('docker-compose config', { skip: tool('/usr/bin/docker-compose') }, async () => {
    const r = await exec('/usr/bin/docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config', '--quiet'])
    assert.equal(r.code, 0, r.out)
  })
})

function tool (path: string): string | false {
  return existsSync(path) ? false : `${path} is not installed`
}

function exec (file: string, args: string[]): Promise<{ code: number, out: string }> {
  return new Promise(resolve => {
    execFile(file, args, { cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: stdout + stderr })
    })
  })
}

describe('the image runs what it copies', () => {
  test('gslb serve with an admin listener starts from only the files the Dockerfile puts in the image', async () => {
    const { cp, mkdtemp, mkdir, symlink, writeFile, rm } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { dirname } = await import('node:path')
    const { serve, stop, freePort } = await import('./helpers/process.js')
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
    const app = await mkdtemp(join(tmpdir(), 'gslb-image-'))
    try {
      // COPY --from=build /app/X Y is this checkout's X (built by npm test); node_modules is linked, not copied.
      for (const m of final.matchAll(/^COPY (?:--from=build \/app\/)?(\S+) (\S+)$/gm)) {
        const from = m[1] ?? ''
        const dest = join(app, m[2] === './' ? (from.split('/').pop() ?? '') : m[2] ?? '')
        await mkdir(dirname(dest), { recursive: true })
        if (from === 'node_modules') await symlink(join(ROOT, from), dest)
        else await cp(join(ROOT, from), dest, { recursive: true })
      }
      const ports = { dns: await freePort(), admin: await freePort() }
      const conf = join(app, 'etc', 'gslb.yaml')
      await mkdir(join(app, 'etc', 'zones'), { recursive: true })
      await writeFile(conf, `listen: { dns: ["127.0.0.1:${ports.dns}"], admin: "127.0.0.1:${ports.admin}" }\nzones: zones/\nhealth: { state_file: ${join(app, 'state.json')} }\n`)
      await writeFile(join(app, 'etc', 'zones', 'z.yaml'), 'zone: example.test\nsoa: { primary: ns1.example.test, contact: h.example.test, serial: 1 }\nrecords: { "@": { NS: [ns1.example.test] } }\n')
      const served = await serve(join(app, 'etc'), ['-c', conf], join(app, 'dist', 'src', 'cli', 'main.js'))
      try {
        const page = await fetch(`http://127.0.0.1:${ports.admin}/`)
        assert.equal(page.status, 200)
        assert.match(await page.text(), /<title>gslb dashboard<\/title>/)
      } finally {
        await stop(served.proc)
      }
    } finally {
      await rm(app, { recursive: true, force: true })
    }
  })
})
