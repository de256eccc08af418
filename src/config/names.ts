/**
 * Domain names as the config layer sees them: lowercase, no trailing dot, the root as "". Only
 * host-name-like labels are accepted (letters, digits, hyphen, underscore for _service._proto
 * owners, and a leading "*" label for wildcards), so every name has one spelling and one wire form.
 */

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/

export type NameResult = { ok: true, name: string } | { ok: false, reason: string }

/** Parse an absolute name; a trailing dot is optional. `wildcard` allows a leading "*" label. */
export function parseAbsoluteName (text: string, wildcard = false): NameResult {
  let t = text.trim().toLowerCase()
  if (t === '.' || t === '') return { ok: true, name: '' }
  if (t.endsWith('.')) t = t.slice(0, -1)
  const labels = t.split('.')
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] ?? ''
    if (label === '*' && i === 0 && wildcard) continue
    if (label === '') return { ok: false, reason: 'has an empty label' }
    if (label.length > 63) return { ok: false, reason: `label "${label.slice(0, 20)}..." is longer than 63 characters` }
    if (label === '*') return { ok: false, reason: 'a "*" label is allowed only as the first label of an owner' }
    if (!LABEL.test(label)) return { ok: false, reason: `label "${label}" may hold only letters, digits, "-" and "_"` }
  }
  if (wireLength(t) > 255) return { ok: false, reason: 'is longer than 255 octets on the wire' }
  return { ok: true, name: t }
}

/** Owner keys are relative to the zone: "@" is the apex, "www" is www.<zone>, "x." is absolute. */
export function parseOwner (text: string, zone: string): NameResult & { absolute?: boolean } {
  const t = text.trim()
  if (t === '@') return { ok: true, name: zone }
  if (t.endsWith('.')) return { ...parseAbsoluteName(t, true), absolute: true }
  return parseAbsoluteName(zone === '' ? t : `${t}.${zone}`, true)
}

/** Names in record values are absolute (trailing dot optional); "@" means the zone apex. */
export function parseTarget (text: string, zone: string): NameResult {
  return text.trim() === '@' ? { ok: true, name: zone } : parseAbsoluteName(text)
}

export function isSubdomain (name: string, parent: string): boolean {
  return parent === '' || name === parent || name.endsWith(`.${parent}`)
}

export function parentName (name: string): string | undefined {
  if (name === '') return undefined
  const dot = name.indexOf('.')
  return dot === -1 ? '' : name.slice(dot + 1)
}

export function wireLength (name: string): number {
  return name === '' ? 1 : name.length + 2
}
