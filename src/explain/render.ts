/** `gslb explain` for people: a few aligned lines per part, not a JSON dump (--json gives that). */
import type { DnsExplain, HttpExplain, MemberLine, PoolPart } from './explain.js'

const W = 11

function row (label: string, text: string): string { return `${label.padEnd(W)}${text}` }
function more (text: string): string { return `${' '.repeat(W)}${text}` }

export function renderExplain (e: DnsExplain | HttpExplain): string {
  return (e.kind === 'dns' ? renderDns(e) : renderHttp(e)).join('\n') + '\n'
}

function renderDns (e: DnsExplain): string[] {
  const out: string[] = []
  out.push(`${e.name} ${e.type}, asked by ${e.client.address}${e.client.ecs === null ? '' : ` for ECS ${e.client.ecs}`}`)
  if (e.client.used !== null) out.push(row('client', `${e.client.used} (${e.client.source === 'ecs' ? 'from ECS' : 'the resolver itself'})`))
  if (e.pool !== null) out.push(...renderPool(e.pool))
  const a = e.answer
  out.push(row('answer', `${a.rcode}${a.ecs_scope === null ? '' : `, ECS scope /${a.ecs_scope}`}`))
  for (const r of a.records) out.push(more(`${r.name} ${r.ttl} ${r.type} ${r.data}`))
  if (a.records.length === 0) out.push(more('(no records)'))
  return out
}

function renderPool (p: PoolPart): string[] {
  const out: string[] = []
  out.push(row('pool', `${p.pool} (${p.policy}), ${p.family}, ${p.mode === 'normal' ? 'normal' : p.mode}${p.served_by === p.pool ? '' : `, served by ${p.served_by}`}`))
  const pl = p.placement
  if (pl !== null) {
    const loc = pl.location
    const where = loc === null ? 'no location' : [loc.continent, loc.country, loc.subdivision, loc.city].filter(x => x !== undefined).join(' ')
    const net = pl.network_prefix === null ? '' : `, network /${pl.network_prefix}`
    out.push(row('location', `${where}${net}${pl.database === null ? ', no database' : ''}`))
    const how = pl.by === 'map' ? `map ${pl.rule ?? ''}` : pl.by === 'nets' ? `nets ${pl.rule ?? ''}` : pl.by === 'distance' ? 'nearest first' : `default${pl.rule === null ? '' : ` (${pl.rule})`}`
    const sites = pl.distances_km === null ? pl.sites.join(', ') : pl.sites.map((s, i) => `${s} ${pl.distances_km?.[i] ?? '?'} km`).join(', ')
    out.push(row('sites', `${how} → ${sites}`))
    for (const s of p.sites) {
      out.push(more(`${s.site.padEnd(8)}${s.verdict}`))
      for (const m of s.members) out.push(more(`  ${memberText(m)}`))
    }
  } else {
    out.push(row('members', p.members.length === 0 ? '(none of this family)' : memberText(p.members[0] as MemberLine)))
    for (const m of p.members.slice(1)) out.push(more(memberText(m)))
  }
  p.steps.forEach((s, i) => out.push(i === 0 ? row('steps', s) : more(s)))
  return out
}

function memberText (m: MemberLine): string {
  return `${m.name.padEnd(10)} ${m.target.padEnd(24)} ${m.eligible ? 'eligible' : 'out     '}  ${m.why}`
}

function renderHttp (e: HttpExplain): string[] {
  const out: string[] = [`GET ${e.url}, from ${e.client.address}`]
  const w = e.why ?? {}
  const client = w.client as { address?: string, location?: Record<string, unknown> | null, sites?: string[], by?: string } | undefined
  if (client !== undefined) {
    const loc = client.location
    out.push(row('client', `${client.address ?? e.client.address}${loc === null || loc === undefined ? ', no location' : `, ${[loc.continent, loc.country, loc.subdivision, loc.city].filter(x => x !== undefined).join(' ')}`}`))
    out.push(row('sites', `${client.by ?? ''} → ${(client.sites ?? []).join(', ')}`))
  }
  const a = e.answer
  out.push(row('answer', `${a.status}${a.location === null ? '' : ` Location: ${a.location}`}`))
  if (a.link !== null) for (const part of a.link.split(', <')) out.push(more(part.startsWith('<') ? part : `<${part}`))
  const place = (m: Record<string, unknown>): string => [m.site, m.country, m.distance_km === undefined ? undefined : `${String(m.distance_km)} km`].filter(x => x !== undefined && x !== null).join(' ')
  // Where the answer's members are (the redirect itself shows which, in the order it gave them).
  const named = [w.chosen, ...((w.alternates as unknown[] | undefined) ?? [])].filter((m): m is Record<string, unknown> => m !== null && m !== undefined)
  named.sort((x, y) => String(x.name).localeCompare(String(y.name)))
  const seen = new Set<string>()
  for (const m of named) {
    if (seen.has(String(m.name))) continue
    seen.add(String(m.name))
    out.push(seen.size === 1 ? row('members', `${String(m.name).padEnd(10)} ${place(m)}`) : more(`${String(m.name).padEnd(10)} ${place(m)}`))
  }
  for (const [i, m] of ((w.excluded as Array<Record<string, unknown>> | undefined) ?? []).entries()) {
    const text = `${String(m.name).padEnd(10)} ${place(m).padEnd(18)} ${String(m.reason)}`
    out.push(i === 0 ? row('excluded', text) : more(text))
  }
  for (const [i, r] of ((w.reasons as string[] | undefined) ?? []).entries()) out.push(i === 0 ? row('steps', r) : more(r))
  if (w.error !== undefined) out.push(row('error', JSON.stringify(w.error)))
  return out
}
