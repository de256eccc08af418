/**
 * `gslb admin`: talk to a running server's admin API.
 *   gslb admin status                         members with health and admin state
 *   gslb admin drain|maint|ready POOL/MEMBER [--for 30m] [--note TEXT]
 *   gslb admin force-up|force-down|unforce POOL/MEMBER [--for 30m]
 * The address comes from --admin, else from listen.admin in the configuration file.
 */
import { loadConfig } from '../config/load.js'
import { hostPort } from '../net/address.js'

export interface AdminOptions {
  readonly config: string
  readonly admin: string | undefined
  readonly args: readonly string[]
  readonly duration: string | undefined
  readonly note: string | undefined
}

const ACTIONS: Record<string, { state?: string, force?: string }> = {
  drain: { state: 'drain' },
  maint: { state: 'maint' },
  ready: { state: 'ready' },
  'force-up': { force: 'up' },
  'force-down': { force: 'down' },
  unforce: { force: 'none' },
}

export async function admin (opts: AdminOptions): Promise<number> {
  const [action, target] = opts.args
  let base = opts.admin
  if (base === undefined) {
    const config = await loadConfig(opts.config)
    if (config.adminListen === undefined) {
      process.stderr.write(`gslb admin: ${config.file} has no listen.admin; pass --admin ADDR:PORT\n`)
      return 2
    }
    base = hostPort(config.adminListen.host, config.adminListen.port)
  }
  const url = `http://${base}`
  try {
    if (action === 'status' || action === undefined) {
      const res = await fetch(`${url}/v1/pools`)
      const body = await res.json() as { ready: boolean, pools: Array<{ name: string, policy: string, members: Array<Record<string, unknown>>, ipv4: { reasons: string[] }, ipv6: { reasons: string[] } }> }
      process.stdout.write(`ready: ${body.ready}\n`)
      for (const p of body.pools) {
        process.stdout.write(`\npool ${p.name} (${p.policy})\n`)
        for (const m of p.members) {
          const force = m.force === null ? '' : ` force=${String(m.force)}`
          process.stdout.write(`  ${String(m.name).padEnd(16)} ${String(m.address ?? m.host).padEnd(22)} ${m.eligible === true ? 'SERVED ' : 'out    '} health=${String(m.health)} admin=${String(m.admin)}${force} weight=${String(m.weight)}  ${String(m.why)}\n`)
        }
      }
      return 0
    }
    const change = ACTIONS[action]
    if (change === undefined || target === undefined || !target.includes('/')) {
      process.stderr.write('usage: gslb admin status | drain|maint|ready|force-up|force-down|unforce POOL/MEMBER [--for DURATION] [--note TEXT]\n')
      return 2
    }
    const [pool, member] = target.split('/') as [string, string]
    const res = await fetch(`${url}/v1/members/${encodeURIComponent(pool)}/${encodeURIComponent(member)}/admin`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...change, ...(opts.duration === undefined ? {} : { expires: opts.duration }), ...(opts.note === undefined ? {} : { note: opts.note }) }),
    })
    const body = await res.json() as Record<string, unknown>
    if (!res.ok) { process.stderr.write(`gslb admin: ${String(body.error ?? body.message ?? res.status)}\n`); return 1 }
    process.stdout.write(`${String(body.member)}: state=${String(body.state)} force=${String(body.force)}${body.expires_at === null ? '' : ` until ${String(body.expires_at)}`}\n`)
    return 0
  } catch (err) {
    process.stderr.write(`gslb admin: cannot reach ${url}: ${(err as Error).message}\n`)
    return 1
  }
}
