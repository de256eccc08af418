/** Where "a client near a site" is: for the dashboard's presets, the demo's simulated users and its banner. */
import type { Snapshot } from '../core/core.js'

/** A client preset for "who gets what": a name and the ECS subnet that plays it. */
export interface ClientPreset { readonly label: string, readonly ecs: string, readonly site: string | null }

/** Presets per site: the /24 (IPv4) or /48 (IPv6) of the site's first member, where a client near it would be. */
export function clientPresets (s: Snapshot): ClientPreset[] {
  const out = new Map<string, ClientPreset>()
  for (const pool of s.config.pools) {
    for (const m of pool.members) {
      if (m.site === undefined || out.has(m.site) || m.address === undefined) continue
      const ecs = m.address.includes(':') ? `${m.address.split(':').slice(0, 3).join(':')}::/48` : `${m.address.split('.').slice(0, 3).join('.')}.0/24`
      out.set(m.site, { label: `near ${m.site}`, ecs, site: m.site })
    }
  }
  return [...out.values()]
}
