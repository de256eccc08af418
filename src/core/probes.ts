/**
 * Health probes, one per check type. A probe never throws: it resolves with ok or not and a
 * detail a human can act on ("HTTP 503", "connect ECONNREFUSED", "timeout after 1000 ms"). The
 * caller owns the timeout through `signal`. Probes go to the target's address and port; Host and
 * TLS SNI are configured separately, so a backend is checked under its public name.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { connect, isIP } from 'node:net'
import dns2 from 'dns2'
import type { CheckConfig } from '../config/model.js'

export interface ProbeTarget {
  readonly address: string
  readonly port: number
}

export interface ProbeResult {
  readonly ok: boolean
  readonly detail: string
  /** A weight reported by the backend: absolute (http weight_from_body) or a percentage (agent). */
  readonly weight?: { readonly absolute: number } | { readonly percent: number }
  /** Admin state reported by an agent check (HAProxy agent-check words). */
  readonly agentState?: 'ready' | 'drain' | 'maint'
}

export type Probe = (target: ProbeTarget, signal: AbortSignal) => Promise<ProbeResult>

const BODY_LIMIT = 64 * 1024

export function createProbe (check: CheckConfig): Probe {
  switch (check.type) {
    case 'static': {
      const result = { ok: check.staticUp, detail: `static ${check.staticUp ? 'up' : 'down'}` }
      return async () => result
    }
    case 'tcp': return tcpProbe
    case 'http':
    case 'https': return (t, signal) => httpProbe(check, t, signal)
    case 'dns': return (t, signal) => dnsProbe(check, t, signal)
    case 'agent': return agentProbe
  }
}

function describeError (err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return String(signal.reason instanceof Error ? signal.reason.message : signal.reason ?? 'aborted')
  const e = err as { code?: string, message?: string, syscall?: string }
  if (e.code !== undefined && e.syscall !== undefined) return `${e.syscall} ${e.code}`
  return e.code ?? e.message ?? String(err)
}

function tcpProbe (t: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise(resolve => {
    const sock = connect({ host: t.address, port: t.port, signal })
    sock.once('connect', () => { sock.destroy(); resolve({ ok: true, detail: 'connected' }) })
    sock.once('error', err => { sock.destroy(); resolve({ ok: false, detail: describeError(err, signal) }) })
  })
}

function httpProbe (check: CheckConfig, t: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise(resolve => {
    const tls = check.type === 'https'
    const hostHeader = check.host ?? (isIP(t.address) === 6 ? `[${t.address}]` : t.address)
    const sni = check.sni ?? check.host
    const options = {
      host: t.address,
      port: t.port,
      method: check.method,
      path: check.path,
      signal,
      agent: false as const,
      headers: { host: hostHeader, 'user-agent': 'gslb-health-check', connection: 'close' },
      ...(tls ? { rejectUnauthorized: !check.insecure, ...(sni !== undefined && isIP(sni) === 0 ? { servername: sni } : {}) } : {}),
    }
    const done = (r: ProbeResult): void => { resolve(r) }
    const req = (tls ? httpsRequest : httpRequest)(options, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0
      const statusOk = check.expectStatus.includes(status)
      const needBody = check.expectBody !== undefined || check.weightFromBody
      if (!needBody || !statusOk) {
        res.resume()
        res.once('end', () => done({ ok: statusOk, detail: `HTTP ${status}` }))
        res.once('error', err => done({ ok: false, detail: describeError(err, signal) }))
        return
      }
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => { if (size < BODY_LIMIT) { chunks.push(c); size += c.length } })
      res.once('error', err => done({ ok: false, detail: describeError(err, signal) }))
      res.once('end', () => {
        const body = Buffer.concat(chunks).subarray(0, BODY_LIMIT).toString('utf8')
        if (check.expectBody !== undefined && !body.includes(check.expectBody)) {
          done({ ok: false, detail: `HTTP ${status}, body does not contain ${JSON.stringify(check.expectBody)}` })
          return
        }
        if (check.weightFromBody) {
          const m = /^\s*(\d{1,7})\s*$/.exec(body)
          if (m === null) { done({ ok: false, detail: `HTTP ${status}, body is not an integer weight` }); return }
          done({ ok: true, detail: `HTTP ${status}, weight ${m[1]}`, weight: { absolute: Number(m[1]) } })
          return
        }
        done({ ok: true, detail: `HTTP ${status}` })
      })
    })
    req.once('error', err => done({ ok: false, detail: describeError(err, signal) }))
    req.end()
  })
}

async function dnsProbe (check: CheckConfig, t: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
  const resolve = dns2.UDPClient({ dns: t.address, port: t.port, socketType: isIP(t.address) === 6 ? 'udp6' : 'udp4', retryOverTCP: true, timeout: check.timeoutMs })
  const aborted = new Promise<never>((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason)
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
  try {
    const answer = await Promise.race([resolve(check.queryName ?? '.', check.queryType as 'A', 1, { recursive: false }), aborted]) as { header: { rcode: number } }
    const rcode = RCODE_NAMES[answer.header.rcode] ?? String(answer.header.rcode)
    return { ok: check.expectRcode.includes(rcode), detail: `DNS ${rcode}` }
  } catch (err) {
    return { ok: false, detail: describeError(err, signal) }
  }
}

const RCODE_NAMES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' }

/**
 * HAProxy's agent-check: connect, read one line of words such as "up 75%", "drain", "maint",
 * "down#reason". up/down/fail/stopped set health, ready/drain/maint set the agent's admin state,
 * "N%" scales the configured weight.
 */
function agentProbe (t: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise(resolve => {
    const sock = connect({ host: t.address, port: t.port, signal })
    let text = ''
    let settled = false
    const finish = (): void => {
      if (settled) return
      settled = true
      sock.destroy()
      resolve(parseAgentReply(text))
    }
    sock.setEncoding('latin1')
    sock.on('data', (d: string) => { text += d; if (text.includes('\n') || text.length > 1024) finish() })
    sock.once('end', finish)
    sock.once('error', err => {
      if (settled) return
      settled = true
      sock.destroy()
      resolve({ ok: false, detail: describeError(err, signal) })
    })
  })
}

export function parseAgentReply (text: string): ProbeResult {
  const line = (text.split('\n')[0] ?? '').split('#')[0] ?? ''
  const words = line.toLowerCase().split(/[\s,]+/).filter(w => w !== '')
  let ok: boolean | undefined
  let agentState: ProbeResult['agentState']
  let weight: ProbeResult['weight']
  for (const w of words) {
    if (w === 'up') ok = true
    else if (w === 'down' || w === 'fail' || w === 'stopped') ok = false
    else if (w === 'ready' || w === 'drain' || w === 'maint') agentState = w
    else if (/^\d{1,3}%$/.test(w)) weight = { percent: Math.min(100, Number(w.slice(0, -1))) }
  }
  if (words.length === 0) return { ok: false, detail: 'agent sent nothing' }
  if (ok === undefined && agentState === undefined && weight === undefined) return { ok: false, detail: `agent said ${JSON.stringify(line.trim())}` }
  return {
    ok: ok ?? true,
    detail: `agent: ${line.trim()}`,
    ...(agentState === undefined ? {} : { agentState }),
    ...(weight === undefined ? {} : { weight }),
  }
}
