/** tcp: passes when a TCP connection to the target opens. */
import { connect } from 'node:net'
import type { ProbeResult, ProbeTarget } from '../core/probe.js'
import { describeError } from './describe-error.js'

export function tcpProbe (t: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise(resolve => {
    const sock = connect({ host: t.address, port: t.port, signal })
    sock.once('connect', () => { sock.destroy(); resolve({ ok: true, detail: 'connected' }) })
    sock.once('error', err => { sock.destroy(); resolve({ ok: false, detail: describeError(err, signal) }) })
  })
}
