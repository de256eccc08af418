/**
 * `gslb admin`: talk to a running server's admin API.
 *   gslb admin status [--json]                             pools, decisions with reasons, members
 *   gslb admin drain|maint|ready POOL/MEMBER [--for 30m] [--note TEXT]
 *   gslb admin force-up|force-down|unforce POOL/MEMBER [--for 30m] [--note TEXT]
 *   gslb admin weight POOL/MEMBER N|reset [--for 30m] [--note TEXT]
 *   gslb admin site drain|maint|ready SITE [--for 30m] [--note TEXT]
 *   gslb admin reload
 * It needs only the admin address: --admin ADDR:PORT, else `listen.admin` read from the
 * configuration file without checking the rest of it (a broken configuration elsewhere does not
 * stop an operator from draining a member). The token comes from GSLB_ADMIN_TOKEN or the file
 * `admin.token_file` names. Every failure is one line on stderr.
 */
import { TOKEN_ENV } from '../admin/auth.js'
import { adminClient, type AdminClient } from './admin-client.js'

export interface AdminOptions {
  readonly config: string
  readonly admin: string | undefined
  readonly args: readonly string[]
  readonly duration: string | undefined
  readonly note: string | undefined
  readonly json: boolean
}

export const ADMIN_USAGE = `Usage:
  gslb admin status [--json]
  gslb admin drain|maint|ready POOL/MEMBER [--for 30m] [--note TEXT]
  gslb admin force-up|force-down|unforce POOL/MEMBER [--for 30m] [--note TEXT]
  gslb admin weight POOL/MEMBER N|reset [--for 30m] [--note TEXT]
  gslb admin site drain|maint|ready SITE [--for 30m] [--note TEXT]
  gslb admin reload

Talks to the running server at --admin ADDR:PORT, else listen.admin from -c FILE (default gslb.yaml).
The token (when the server needs one) comes from ${TOKEN_ENV} or admin.token_file.
--for takes a duration (500ms, 2s, 1.5m, 1h, 1d); the change undoes itself after it.
`

const MEMBER_ACTIONS: Record<string, { state?: string, force?: string }> = {
  drain: { state: 'drain' },
  maint: { state: 'maint' },
  ready: { state: 'ready' },
  'force-up': { force: 'up' },
  'force-down': { force: 'down' },
  unforce: { force: 'none' },
}

class Usage extends Error {}

export async function admin (opts: AdminOptions): Promise<number> {
  try {
    const api = await adminClient(opts.config, opts.admin)
    const [action = 'status', ...rest] = opts.args
    const extra = { ...(opts.duration === undefined ? {} : { expires: opts.duration }), ...(opts.note === undefined ? {} : { note: opts.note }) }
    if (action === 'status') return await status(api, opts.json)
    if (action === 'reload') return await reload(api)
    if (action === 'site') {
      const [what, site] = rest
      const state = what === 'drain' || what === 'maint' || what === 'ready' ? what : undefined
      if (state === undefined || site === undefined) throw new Usage('gslb admin site drain|maint|ready SITE')
      const r = await api.put(`/v1/sites/${encodeURIComponent(site)}/admin`, { state, ...extra })
      process.stdout.write(`site ${site}: ${state}${r.expires_at === null ? '' : ` until ${String(r.expires_at)}`} (${(r.members as string[]).join(', ')})\n`)
      return 0
    }
    const [target_ = '', value] = rest
    const parts = target_.split('/')
    const [pool, member] = parts
    if (parts.length !== 2 || pool === undefined || member === undefined || pool === '' || member === '') throw new Usage(`gslb admin ${action} POOL/MEMBER: got "${target_}"`)
    const path = `/v1/members/${encodeURIComponent(pool)}/${encodeURIComponent(member)}/admin`
    let change: Record<string, unknown>
    if (action === 'weight') {
      const weight = value === 'reset' ? null : /^\d{1,7}$/.test(value ?? '') ? Number(value) : undefined
      if (weight === undefined) throw new Usage('gslb admin weight POOL/MEMBER N|reset (N: 0 to 1000000)')
      change = { weight }
    } else {
      const c = MEMBER_ACTIONS[action]
      if (c === undefined) throw new Usage(`unknown admin action "${action}"`)
      change = { ...c }
    }
    const r = await api.put(path, { ...change, ...extra })
    process.stdout.write(`${String(r.member)}: ${String(r.state)}${r.force === null ? '' : `, forced ${String(r.force)}`}${r.weight === null ? '' : `, weight ${String(r.weight)}`}${r.expires_at === null ? '' : ` until ${String(r.expires_at)}`}${r.note === null ? '' : ` (${String(r.note)})`}\n`)
    return 0
  } catch (err) {
    if (err instanceof Usage) {
      process.stderr.write(`gslb admin: ${err.message}\n\n${ADMIN_USAGE}`)
      return 2
    }
    process.stderr.write(`gslb admin: ${(err as Error).message}\n`)
    return 1
  }
}

async function reload (api: AdminClient): Promise<number> {
  const { status, body } = await api.post('/v1/reload')
  const workers = body.workers as Array<{ worker: string, ok: boolean, version: string }> | undefined
  if (status === 200) {
    process.stdout.write(`reloaded: version ${String(body.version ?? 'differs between workers')}\n`)
    for (const w of workers ?? []) process.stdout.write(`  ${w.worker}: ${w.version}\n`)
    const restart = body.restart_needed as string[] | undefined
    if (restart !== undefined && restart.length > 0) process.stdout.write(`changed, but applied only after a restart: ${restart.join(', ')}\n`)
    return 0
  }
  if (status !== 422) throw new Error(`${String(body.error ?? status)}${body.code === undefined ? '' : ` [${String(body.code)}]`}`)
  process.stderr.write(`gslb admin reload: ${String(body.error)}\n`)
  for (const e of (body.errors as string[] | undefined) ?? []) process.stderr.write(`${e}\n`)
  return 1
}

interface MemberJson { name: string, address?: string, host?: string, url?: string, site: string | null, eligible: boolean, why: string, health: string, admin: string, force: string | null, weight: number, weight_source: string, note: string | null, expires_at: string | null, set_by: string | null, cluster?: { local: string, local_reason: string, nodes: Array<{ node: string, health: string, reason: string }> } }
interface DecisionJson { kind: string, mode: string, members: string[], reasons: string[], served_by: string, site: string | null }
interface PoolJson { name: string, policy: string, within?: string, members: MemberJson[], ipv4: DecisionJson, ipv6: DecisionJson, host: DecisionJson, url: DecisionJson }

async function status (api: AdminClient, json: boolean): Promise<number> {
  const pools = await api.get('/v1/pools') as unknown as { ready: boolean, version: number, config_version: string, pools: PoolJson[] }
  if (json) { process.stdout.write(`${JSON.stringify(pools, null, 2)}\n`); return 0 }
  const cluster = (await api.get('/v1/status')).cluster as { node: string, redis: { up: boolean, down_since: string | null }, quorum: { rule: string }, nodes: Array<{ node: string, fresh: boolean }> } | undefined
  const clusterNode = cluster?.node
  const out: string[] = [`config ${pools.config_version}, snapshot ${pools.version}, ${pools.ready ? 'ready' : 'NOT READY (first round of checks)'}`]
  for (const p of pools.pools) {
    out.push('', `pool ${p.name} (${p.policy}${p.within === undefined ? '' : `, within ${p.within}`})`)
    const families: Array<[string, DecisionJson]> = [['IPv4', p.ipv4], ['IPv6', p.ipv6], ['CNAME', p.host], ['redirects', p.url]]
    const dnsServing = new Set<string>()
    for (const [label, d] of families) {
      if (d.mode === 'empty') continue
      if (label !== 'redirects') for (const m of d.members) dnsServing.add(m)
      const mode = d.mode === 'normal' ? (d.reasons.some(r => r.startsWith('degraded')) ? 'normal, degraded' : 'normal') : d.mode === 'fallback' ? `served by fallback pool ${d.served_by}` : d.mode
      // The reason that says most: the decision's last step before any TTL note.
      const why = [...d.reasons].reverse().find(r => !r.startsWith('degraded:')) ?? ''
      out.push(`  ${label.padEnd(10)} ${mode}: ${why}`)
    }
    const fo = families.some(([label, d]) => label !== 'redirects' && d.mode === 'fail-open')
    out.push(`  ${'member'.padEnd(12)} ${'site'.padEnd(6)} ${'target'.padEnd(24)} ${'health'.padEnd(7)} ${'admin'.padEnd(6)} ${'weight'.padEnd(8)} state`)
    for (const m of p.members) {
      const target = m.address ?? m.host ?? m.url ?? ''
      const serving = m.eligible ? 'serving' : fo && dnsServing.has(m.name) ? 'serving (fail-open)' : `out: ${m.why}`
      const weight = `${m.weight}${m.weight_source === 'config' ? '' : m.weight_source === 'operator' ? '*' : '~'}`
      const admin = m.force === null ? m.admin : `${m.admin}+${m.force}`
      let line = `  ${m.name.padEnd(12)} ${(m.site ?? '-').padEnd(6)} ${target.padEnd(24)} ${m.health.padEnd(7)} ${admin.padEnd(6)} ${weight.padEnd(8)} ${serving}`
      if (m.note !== null || m.expires_at !== null) line += `  [${[m.note === null ? undefined : `"${m.note}"`, m.expires_at === null ? undefined : `until ${m.expires_at}`, m.set_by === null ? undefined : `by ${m.set_by}`].filter(x => x !== undefined).join(', ')}]`
      out.push(line)
      // In a cluster: each node's view, this one first; `health` above is the quorum's.
      if (m.cluster !== undefined && m.cluster.nodes.length > 0) {
        const views = [`${clusterNode ?? 'this node'} ${m.cluster.local}`, ...m.cluster.nodes.map(n => `${n.node} ${n.health}${n.health === 'down' ? ` (${n.reason})` : ''}`)]
        out.push(`  ${''.padEnd(12)} nodes: ${views.join(', ')}`)
      }
    }
  }
  if (cluster !== undefined) {
    const nodes = cluster.nodes.map(n => `${n.node}${n.fresh ? '' : ' (stale)'}`).join(', ')
    out.splice(1, 0, `cluster: node ${cluster.node}, Redis ${cluster.redis.up ? 'reachable' : `UNREACHABLE since ${cluster.redis.down_since ?? '?'}: serving the last shared state and this node's checks`}; quorum ${cluster.quorum.rule}; nodes ${nodes}`)
  }
  out.push('', 'weight: * set at run time, ~ reported by the backend')
  process.stdout.write(`${out.join('\n')}\n`)
  return 0
}
