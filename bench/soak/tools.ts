/**
 * The soak's clients as child processes, each bounded in time (its own limit, and a kill past it),
 * with their outputs read into counts: dnsperf (UDP and TCP DNS), wrk (HTTP calibration), and the
 * Node load generators of this folder (one JSON line each). Also the admin API and a Prometheus
 * text reader.
 */
import { spawn } from 'node:child_process'
import { request } from 'node:http'
import { join } from 'node:path'

/**
 * During the soak the clients run at a lower CPU priority than the server: they stand in for other
 * machines, so on a host whose two cores are both busy the server's processes (and V8's
 * garbage-collection threads in them) are not left waiting behind their own load generators. The
 * calibration runs at the same priority as the server, or it would measure the starved client.
 */
const CLIENT_NICE = '10'

/** Runs a command to its end, niced unless `full` (killed `limitS` seconds after the start); its stdout. */
export async function run (cmd: string, args: readonly string[], limitS: number, full = false): Promise<string> {
  const child = full ? spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('nice', ['-n', CLIENT_NICE, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const killer = setTimeout(() => child.kill('SIGKILL'), limitS * 1000)
  const code = await new Promise<number | null>(resolve => child.once('close', resolve))
  clearTimeout(killer)
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${String(code)}: ${err.trim().slice(0, 400)}`)
  return out
}

export interface DnsperfResult { readonly sent: number, readonly completed: number, readonly lost: number, readonly qps: number, readonly rcodes: Record<string, number> }

export function parseDnsperf (out: string): DnsperfResult {
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? NaN)
  const rcodes: Record<string, number> = {}
  for (const m of (/Response codes:\s+(.*)/.exec(out)?.[1] ?? '').matchAll(/([A-Z]+) (\d+)/g)) rcodes[m[1] as string] = Number(m[2])
  return { sent: num(/Queries sent:\s+(\d+)/), completed: num(/Queries completed:\s+(\d+)/), lost: num(/Queries lost:\s+(\d+)/), qps: num(/Queries per second:\s+([\d.]+)/), rcodes }
}

export interface DnsperfOptions {
  readonly server: string
  readonly port: number
  readonly source: string
  readonly queries: string
  readonly seconds: number
  readonly tcp: boolean
  readonly clients: number
  /** Queries a second; undefined: as fast as the server answers (calibration, not niced). */
  readonly qps?: number
}

export async function dnsperf (o: DnsperfOptions): Promise<DnsperfResult> {
  const args = ['-s', o.server, '-p', String(o.port), '-a', o.source, '-d', o.queries, '-l', String(o.seconds), '-c', String(o.clients), '-q', '500', '-t', '5']
  if (o.tcp) args.push('-m', 'tcp')
  if (o.qps !== undefined) args.push('-Q', String(Math.round(o.qps)))
  return parseDnsperf(await run('dnsperf', args, o.seconds + 30, o.qps === undefined))
}

/** wrk at saturation against the redirect endpoint: requests a second, and the answers that were not 3xx. */
export async function wrk (url: string, host: string, seconds: number): Promise<{ rps: number, bad: number }> {
  const out = await run('wrk', ['-t1', '-c50', `-d${String(seconds)}s`, '-H', `Host: ${host}`, url], seconds + 30, true)
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN), bad: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) }
}

/** Runs one of this folder's Node load generators; its JSON line. */
export async function nodeClient<T> (script: string, args: readonly string[], limitS: number): Promise<T> {
  const out = await run(process.execPath, [join(import.meta.dirname, script), ...args], limitS)
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as T
}

export interface ApiAnswer { readonly status: number, readonly body: Record<string, unknown>, readonly text: string }

/** One admin API request on its own connection (no keep-alive: the server holds no socket for the harness between calls). */
export async function api (admin: string, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const [host, port] = admin.split(':')
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return await new Promise<ApiAnswer>((resolve, reject) => {
    const req = request({ host, port, method, path, agent: false, timeout: 10_000, headers: payload === undefined ? {} : { 'content-type': 'application/json' } }, res => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { text += d })
      res.on('end', () => {
        let parsed: Record<string, unknown> = {}
        try { parsed = JSON.parse(text) as Record<string, unknown> } catch { /* /metrics is text */ }
        resolve({ status: res.statusCode ?? 0, body: parsed, text })
      })
    })
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)))
    req.on('error', reject)
    req.end(payload)
  })
}

/** The sum of a metric's samples in Prometheus text whose labels include every `labels` pair. */
export function metric (text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0
  let found = false
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue
    sum += Number(line.slice(line.lastIndexOf(' ') + 1))
    found = true
  }
  return found ? sum : NaN
}
