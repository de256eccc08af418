import { connect } from 'node:net'
import type { ProbeResult, ProbeTarget } from '../core/probe.js'
import { describeError } from './describe-error.js'

/**
 * HAProxy's agent-check: connect, read one line of words such as "up 75%", "drain", "maint",
 * "down#reason". up/down/fail/stopped set health, ready/drain/maint set the agent's admin state,
 * "N%" scales the configured weight.
 */
export function agentProbe (t: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
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
