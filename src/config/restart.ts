/**
 * Settings read once at start: a reload that changes them keeps the running values and says so
 * (docs/operations.md, "Reloading"). Everything else in the configuration applies on reload.
 */
import type { GslbConfig } from './model.js'

const AT_START: ReadonlyArray<[string, (c: GslbConfig) => unknown]> = [
  ['listen.dns', c => c.dns.listen],
  ['listen.http', c => c.httpListen],
  ['listen.admin', c => c.adminListen],
  // Rate limiting, cookies and the server id are read per query from the serving snapshot.
  ['dns', c => ({ ...c.dns, listen: undefined, rateLimit: undefined, cookies: undefined, serverId: undefined })],
  ['shutdown', c => c.shutdown],
  ['health.state_file', c => c.health.stateFile],
  ['metrics', c => c.metrics],
  ['admin.token_file', c => c.admin.tokenFile],
  ['http.request_log', c => c.http.requestLog],
  ['cluster', c => c.cluster],
]

/** The start-only settings that differ between `running` and `next`, by their config path. */
export function restartNeeded (running: GslbConfig, next: GslbConfig): string[] {
  return AT_START.filter(([, get]) => JSON.stringify(get(running)) !== JSON.stringify(get(next))).map(([path]) => path)
}
