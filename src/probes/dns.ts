/** dns: a query sent with dns2, without recursion, that must answer with an expected rcode. */
import { isIP } from 'node:net'
import dns2 from 'dns2'
import type { CheckConfig } from '../config/model.js'
import type { ProbeResult, ProbeTarget } from '../core/probe.js'
import { RCODE_NAME } from '../dns/constants.js'
import { describeError } from './describe-error.js'

export async function dnsProbe (check: CheckConfig, t: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
  const resolve = dns2.UDPClient({ dns: t.address, port: t.port, socketType: isIP(t.address) === 6 ? 'udp6' : 'udp4', retryOverTCP: true, timeout: check.timeoutMs })
  const aborted = new Promise<never>((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason)
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
  try {
    const answer = await Promise.race([resolve(check.queryName ?? '.', check.queryType as 'A', 1, { recursive: false }), aborted]) as { header: { rcode: number } }
    const rcode = RCODE_NAME[answer.header.rcode] ?? String(answer.header.rcode)
    return { ok: check.expectRcode.includes(rcode), detail: `DNS ${rcode}` }
  } catch (err) {
    return { ok: false, detail: describeError(err, signal) }
  }
}
