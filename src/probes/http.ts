/**
 * http and https: a request to the target's address and port, with the Host header and TLS SNI
 * configured apart from the address, so a backend is checked under its public name. Passes on an
 * expected status and, when asked, a body that contains a string or is a bare integer weight.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP } from 'node:net'
import type { CheckConfig } from '../config/model.js'
import type { ProbeResult, ProbeTarget } from '../core/probe.js'
import { describeError } from './describe-error.js'

const BODY_LIMIT = 64 * 1024

export function httpProbe (check: CheckConfig, t: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
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
