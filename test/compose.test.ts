/**
 * docker-compose.yml agrees with the repository (Docker cannot run here, so the topology is checked
 * as files): every service has an image or a build, every bind-mounted file exists, the ports each
 * service exposes are the ones its configuration listens on, and the static addresses are the ones
 * deploy/compose/gslb.yaml, the HAProxy configurations and unbound.conf name. Then each
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

interface Service {
  image?: string
  build?: string | { context: string }
  command?: string[]
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
const unbound = readFileSync(join(DEPLOY, 'unbound.conf'), 'utf8')
const unboundKey = (key: string): string[] => [...unbound.matchAll(new RegExp(`^\\s*${key}:\\s*"?([^"\\s]+)"?`, 'gm'))].map(m => m[1] ?? '')

describe('docker-compose.yml agrees with the repository', () => {
  test('every service has an image or a build whose Dockerfile exists', () => {
    const names = Object.keys(compose.services).sort()
    assert.deepEqual(names, ['client', 'gslb', 'unbound', ...SITES.flatMap(s => [s, `${s}-1`, `${s}-2`])].sort())
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

  test('gslb listens on its own address, on the ports the service publishes', () => {
    const ip = ipOf('gslb')
    const dns = gslb.listen.dns.map(split)
    const http = split(gslb.listen.http)
    for (const [address] of [...dns, http]) assert.equal(address, ip)
    const want = new Set([...dns.flatMap(([, p]) => [`${p}/udp`, `${p}/tcp`]), `${http[1]}/tcp`])
    assert.deepEqual(containerPorts(service('gslb')), want)
    const mounts = service('gslb').volumes ?? []
    assert.ok(mounts.some(v => v.startsWith('./deploy/compose/gslb.yaml:/etc/gslb/gslb.yaml')), 'the config is mounted where the Dockerfile serves it from')
    assert.match(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), /^CMD \["node", "dist\/src\/cli\/main\.js", "serve", "-c", "\/etc\/gslb\/gslb\.yaml"\]$/m)
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

  test('unbound listens on its address and sends example.test to gslb; the client asks unbound', () => {
    assert.deepEqual(unboundKey('interface'), [ipOf('unbound')])
    const port = unboundKey('port')[0] ?? '53'
    assert.deepEqual(containerPorts(service('unbound')), new Set([`${port}/udp`, `${port}/tcp`]))
    assert.deepEqual(unboundKey('stub-addr'), gslb.listen.dns.map(a => a.replace(/:(\d+)$/, '@$1')))
    assert.deepEqual(service('client').dns, [ipOf('unbound')])
    const zoneText = readFileSync(join(DEPLOY, 'zones', 'example.test.yaml'), 'utf8')
    assert.match(zoneText, new RegExp(`^ {2}ns1: +\\{ A: ${ipOf('gslb').replaceAll('.', '\\.')} \\}$`, 'm'))
    assert.match(zoneText, new RegExp(`^ {2}dl: +\\{ A: ${split(gslb.listen.http)[0].replaceAll('.', '\\.')} \\}$`, 'm'))
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
