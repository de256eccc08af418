/**
 * Reads the optional `cluster:` section: this node's name, the Redis that several gslb nodes
 * share, and how their health views combine (docs/cluster.md).
 */
import { hostname } from 'node:os'
import { dirname, resolve } from 'node:path'
import { ErrorCode } from '../errors.js'
import type { ClusterOptions } from './model.js'
import { allRead, type Source, type YNode } from './source.js'

export const CLUSTER_DEFAULTS = { prefix: 'gslb:', quorum: 'majority', minNodes: 1, heartbeatMs: 1000, staleAfterMs: 5000 } as const

export function readCluster (src: Source, node: YNode, file: string): ClusterOptions | undefined {
  const f = src.map(node, 'cluster', ['node', 'redis', 'password_file', 'tls_ca', 'prefix', 'quorum', 'min_nodes', 'heartbeat', 'stale_after'])
  if (f === undefined) return undefined
  const d = CLUSTER_DEFAULTS
  const name = f.opt('node', (n, p) => {
    const s = src.string(n, p)
    if (s !== undefined && !/^[A-Za-z0-9][\w.-]{0,62}$/.test(s)) { src.error(n, p, ErrorCode.VALUE, `must be 1-63 letters, digits, ".", "_" or "-": got "${s}"`); return undefined }
    return s
  }, hostname())
  const url = src.string(f.require('redis'), f.at('redis'))
  let redisUrl: string | undefined
  if (url !== undefined) {
    let u: URL | undefined
    try { u = new URL(url) } catch { u = undefined }
    if (u === undefined || (u.protocol !== 'redis:' && u.protocol !== 'rediss:') || u.hostname === '') src.error(f.get('redis'), f.at('redis'), ErrorCode.VALUE, `must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379/0: got "${url}"`)
    else if (u.pathname !== '' && u.pathname !== '/' && !/^\/\d{1,2}$/.test(u.pathname)) src.error(f.get('redis'), f.at('redis'), ErrorCode.VALUE, `the path must be a database number (/0 to /15): got "${u.pathname}"`)
    else redisUrl = url
  }
  const rel = (p: string | undefined): string | undefined => p === undefined ? undefined : resolve(dirname(file), p)
  const passwordFile = f.opt('password_file', (n, p) => src.string(n, p), undefined)
  const tlsCa = f.opt('tls_ca', (n, p) => src.string(n, p), undefined)
  if (tlsCa !== undefined && url !== undefined && !url.startsWith('rediss:')) src.error(f.get('tls_ca'), f.at('tls_ca'), ErrorCode.VALUE, 'tls_ca needs a rediss:// URL')
  const prefix = f.opt('prefix', (n, p) => {
    const s = src.string(n, p)
    if (s !== undefined && !/^[\w:.-]{1,64}$/.test(s)) { src.error(n, p, ErrorCode.VALUE, `must be 1-64 letters, digits, ":", ".", "_" or "-": got "${s}"`); return undefined }
    return s
  }, d.prefix)
  const quorum = f.opt('quorum', (n, p) => src.oneOf(n, p, ['majority', 'any', 'all'] as const), d.quorum)
  const minNodes = f.opt('min_nodes', (n, p) => src.integer(n, p, 1, 100), d.minNodes)
  const heartbeatMs = f.opt('heartbeat', (n, p) => src.duration(n, p, 100, 60_000), d.heartbeatMs)
  const staleAfterMs = f.opt('stale_after', (n, p) => src.duration(n, p, 200, 600_000), d.staleAfterMs)
  if (heartbeatMs !== undefined && staleAfterMs !== undefined && staleAfterMs < 2 * heartbeatMs) {
    src.error(f.has('stale_after') ? f.get('stale_after') : f.get('heartbeat'), f.at('stale_after'), ErrorCode.VALUE, `must be at least twice cluster.heartbeat (${heartbeatMs} ms): a node would go stale between two heartbeats`)
    return undefined
  }
  const read = allRead({ node: name, redisUrl, prefix, quorum, minNodes, heartbeatMs, staleAfterMs })
  return read === undefined ? undefined : { ...read, passwordFile: rel(passwordFile), tlsCa: rel(tlsCa) }
}
