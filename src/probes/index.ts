/**
 * The health probes, one per check type, injected into the core by the composition root
 * (app.ts). A probe never throws: it resolves with ok or not and a detail a human can act on
 * ("HTTP 503", "connect ECONNREFUSED", "timeout after 1000 ms"). The caller owns the timeout.
 */
import type { CheckConfig } from '../config/model.js'
import type { Probe } from '../core/probe.js'
import { agentProbe } from './agent.js'
import { dnsProbe } from './dns.js'
import { haproxyProbe } from './haproxy.js'
import { httpProbe } from './http.js'
import { tcpProbe } from './tcp.js'

export { parseAgentReply } from './agent.js'
export { readHaproxyStats } from './haproxy.js'

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
    case 'haproxy': return (t, signal) => haproxyProbe(check, t, signal)
  }
}
