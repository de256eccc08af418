/**
 * haproxy: reads an HAProxy stats page in CSV (HAProxy management guide, 9.1 "CSV format") and
 * counts the servers of one backend. Passes while at least `min_up` are up, and reports the share
 * up as a percent weight, so a farm that lost half its servers gets half its traffic.
 *
 * Which rows count (docs/health.md, "Fronting HAProxy farms"): the backend's active servers (type 2,
 * bck 0); backup servers are left out, since HAProxy uses them only when every active one is down.
 * A server is up when its status is "UP" (also "UP 1/3", still up while its failures are counted)
 * or "no check" (HAProxy sends it traffic unchecked), and its weight is not 0; "DOWN", "DOWN 1/2"
 * (still down while its successes are counted), "NOLB", "DRAIN", "MAINT..." and an "UP" server set
 * to weight 0 take no new traffic and are counted down.
 */
import { request, type IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import type { CheckConfig } from '../config/model.js'
import type { ProbeResult, ProbeTarget } from '../core/probe.js'
import { describeError } from './describe-error.js'

/** A stats page larger than this fails the check: a `path` with `;scope=` can narrow it. */
export const STATS_LIMIT = 2 * 1024 * 1024

export function haproxyProbe (check: CheckConfig, t: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise(resolve => {
    let settled = false
    const done = (r: ProbeResult): void => { if (!settled) { settled = true; resolve(r) } }
    const req = request({
      host: t.address,
      port: t.port,
      path: check.path,
      signal,
      agent: false,
      headers: { host: isIP(t.address) === 6 ? `[${t.address}]` : t.address, 'user-agent': 'gslb-health-check', connection: 'close' },
    }, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0
      if (status !== 200) {
        res.resume()
        done({ ok: false, detail: `HTTP ${status} from the stats page ${check.path}` })
        return
      }
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > STATS_LIMIT) {
          res.destroy()
          done({ ok: false, detail: `the stats page is larger than ${STATS_LIMIT / 1024 / 1024} MiB` })
          return
        }
        chunks.push(c)
      })
      res.once('error', err => done({ ok: false, detail: describeError(err, signal) }))
      res.once('end', () => done(readHaproxyStats(Buffer.concat(chunks).toString('utf8'), check.backend ?? '', check.minUp)))
    })
    req.once('error', err => done({ ok: false, detail: describeError(err, signal) }))
    req.end()
  })
}

/** Whether HAProxy sends new traffic to a server with these `status` and `weight` columns. */
export function serverIsUp (status: string, weight = ''): boolean {
  return (/^UP(?: |$)/.test(status) || status === 'no check') && weight !== '0'
}

/** The result for `backend` in a CSV stats page: pure, for the probe and its tests. */
export function readHaproxyStats (csv: string, backend: string, minUp: number): ProbeResult {
  const lines = csv.split('\n').map(l => l.replace(/\r$/, '')).filter(l => l !== '')
  const header = lines[0]
  if (header?.startsWith('# ') !== true) {
    return { ok: false, detail: 'not HAProxy CSV stats (no "# pxname,svname,..." header line): does path end in ";csv"?' }
  }
  const names = splitCsvLine(header.slice(2))
  const col = (name: string): number => names.indexOf(name)
  const [px, sv, st, wt, type, bck] = [col('pxname'), col('svname'), col('status'), col('weight'), col('type'), col('bck')]
  if (px === -1 || sv === -1 || st === -1) return { ok: false, detail: 'HAProxy CSV stats without pxname, svname or status columns' }
  const proxies = new Set<string>()
  let total = 0
  let up = 0
  // pxname is the first column in every HAProxy version: other proxies' rows are skipped by their
  // prefix, unparsed, so a large page costs little more than splitting it into lines.
  const prefix = `${backend},`
  for (const line of lines.slice(1)) {
    if (line.startsWith('#')) continue
    if (px === 0 && !line.startsWith(prefix) && !line.startsWith('"')) {
      proxies.add(line.slice(0, line.indexOf(',')))
      continue
    }
    const f = splitCsvLine(line)
    const name = f[px] ?? ''
    proxies.add(name)
    if (name !== backend) continue
    const svname = f[sv] ?? ''
    // A `listen` section's rows share its name: its FRONTEND, BACKEND and listeners (type 3) are not servers.
    const isServer = type === -1 ? svname !== 'FRONTEND' && svname !== 'BACKEND' : f[type] === '2'
    if (!isServer || (bck !== -1 && f[bck] === '1')) continue
    total++
    if (serverIsUp(f[st] ?? '', wt === -1 ? '' : f[wt])) up++
  }
  if (!proxies.has(backend)) {
    const known = [...proxies].slice(0, 5).join(', ')
    return { ok: false, detail: `backend ${backend} not in the stats (${proxies.size === 0 ? 'no proxies' : `proxies: ${known}${proxies.size > 5 ? ', ...' : ''}`})` }
  }
  if (total === 0) return { ok: false, detail: `backend ${backend} has no active servers in the stats` }
  const counted = `${up}/${total} servers up in ${backend}`
  const weight = { percent: Math.round(100 * up / total) }
  if (up < minUp) return { ok: false, detail: `${counted}, fewer than min_up ${minUp}`, weight }
  return { ok: true, detail: counted, weight }
}

/** One CSV line: comma-separated, a field optionally in double quotes with "" for a quote (9.1). */
export function splitCsvLine (line: string): string[] {
  const out: string[] = []
  let i = 0
  for (;;) {
    if (line[i] === '"') {
      let text = ''
      i++
      while (i < line.length) {
        if (line[i] === '"') {
          if (line[i + 1] === '"') { text += '"'; i += 2; continue }
          i++
          break
        }
        text += line[i]
        i++
      }
      const comma = line.indexOf(',', i)
      out.push(text + line.slice(i, comma === -1 ? line.length : comma))
      if (comma === -1) return out
      i = comma + 1
    } else {
      const comma = line.indexOf(',', i)
      if (comma === -1) { out.push(line.slice(i)); return out }
      out.push(line.slice(i, comma))
      i = comma + 1
    }
  }
}
