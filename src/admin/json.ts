/** The admin API's JSON view of members and pool decisions: the snapshot's, with the latest probes read live. */
import type { GslbCore } from '../core/core.js'
import type { FamilyDecision, MemberView, PoolView } from '../core/pool-view.js'

const iso = (t: number | undefined): string | null => t === undefined ? null : new Date(t).toISOString()

export function memberJson (m: MemberView, core: GslbCore): Record<string, unknown> {
  const target = m.checkKey === undefined ? undefined : core.monitor.get(m.checkKey)
  const e = m.adminEntry
  return {
    name: m.name,
    ...(m.config.address === undefined ? (m.config.host === undefined ? {} : { host: m.config.host }) : { address: m.config.address }),
    ...(m.config.url === undefined ? {} : { url: m.config.url }),
    site: m.config.site ?? null,
    eligible: m.eligible,
    why: m.why,
    health: m.health,
    health_reason: target?.health.reason ?? m.healthReason,
    check: m.checkKey ?? null,
    last_check_at: iso(target?.health.lastCheckAt),
    recent_probes: (target?.recent ?? []).map(r => ({ at: new Date(r.at).toISOString(), ms: r.durationMs, ok: r.ok, detail: r.detail })),
    admin: m.admin,
    admin_source: m.adminSource,
    force: m.force ?? null,
    note: e?.note ?? null,
    expires_at: iso(e?.expiresAt),
    set_at: iso(e?.setAt),
    set_by: e?.setBy ?? null,
    ...(m.cluster === undefined
      ? {}
      : {
          // In a cluster `health` is the quorum's: this node's own view and each other fresh node's.
          cluster: {
            local: m.cluster.local,
            local_reason: m.cluster.localReason,
            nodes: m.cluster.nodes.map(n => ({ node: n.node, health: n.status, reason: n.reason, heard_ms_ago: core.clock.now() - n.heardAt })),
          },
        }),
    weight: m.weight,
    weight_source: e?.weight !== undefined ? 'operator' : m.weight !== m.config.weight ? 'backend' : 'config',
    configured_weight: m.config.weight,
  }
}

export function decisionJson (d: FamilyDecision): Record<string, unknown> {
  return { kind: d.kind, mode: d.mode, members: d.members.map(m => m.name), site: d.site ?? null, degraded: d.degraded, ttl: d.ttl, served_by: d.servedBy, reasons: d.reasons }
}

export function poolJson (p: PoolView, core: GslbCore): Record<string, unknown> {
  return {
    name: p.name,
    policy: p.config.policy,
    ...(p.geo === undefined ? {} : { within: p.config.within }),
    members: p.members.map(m => memberJson(m, core)),
    ipv4: decisionJson(p.v4),
    ipv6: decisionJson(p.v6),
    host: decisionJson(p.host),
    url: decisionJson(p.url),
  }
}
