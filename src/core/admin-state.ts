/**
 * Operator admin state per member (`pool/member`): ready | drain | maint, and force up/down, each
 * with an optional expiry. Kept apart from checked health (both are shown).
 *
 * This file owns the data and its rules, not where it is kept: `AdminTable` is an immutable set of
 * entries, `applyChange` is the one merge rule every store uses, and `encodeTable`/`decodeTable`
 * are the persisted form (the state file, and what `--workers` pass between processes). Stores
 * implement `AdminStore`: the state file (admin-file-store.ts), the worker processes' view of the
 * primary's file (workers/ipc-admin-store.ts).
 */

export type AdminState = 'ready' | 'drain' | 'maint'
export type Force = 'up' | 'down'

export interface AdminEntry {
  readonly state: AdminState
  readonly force: Force | undefined
  /** Epoch ms after which the entry no longer applies. */
  readonly expiresAt: number | undefined
  /** When the entry was set (epoch ms); undefined for an entry written by hand without `set_at`. */
  readonly setAt: number | undefined
  readonly note: string | undefined
  /** A weight set at run time (HAProxy's `set weight`), over the configured and reported ones. */
  readonly weight?: number | undefined
  /** Who asked for it (the API's audit: `user@address`). */
  readonly setBy?: string | undefined
}

/** What an operator asks for. Absent fields keep the current value; `force: 'none'` clears it. */
export interface AdminChange {
  readonly state?: AdminState | undefined
  readonly force?: Force | 'none' | undefined
  /** The whole entry expires then; absent: it does not expire. */
  readonly expiresAt?: number | undefined
  readonly note?: string | undefined
  /** A run-time weight; 'none' goes back to the configured (or reported) one. */
  readonly weight?: number | 'none' | undefined
  readonly setAt: number
  readonly setBy?: string | undefined
}

/**
 * The admin state of one server (or cluster). A store holds one table and replaces it whole on
 * every change; nothing modifies a table.
 */
export interface AdminStore {
  /** Read the kept state. Called once before serving; throws a ConfigError (GSLB_E_STATE_FILE) on state it cannot trust. */
  load: () => Promise<void>
  /** The current table. */
  readonly table: AdminTable
  /**
   * Apply `change` to every key in `keys` and keep them, together (one write). Resolves once the
   * change is kept and applied everywhere this store serves (every worker, for the worker store).
   * Rejects with a GslbError and applies nothing when it cannot be kept: a change reported as
   * failed never takes effect later.
   */
  update: (keys: readonly string[], change: AdminChange) => Promise<void>
  /** `fn` runs after every change applied, whoever made it (this process, another worker). */
  onChange: (fn: () => void) => void
  close: () => void
}

export class AdminTable {
  static readonly EMPTY = new AdminTable(new Map())
  readonly entries: ReadonlyMap<string, AdminEntry>

  constructor (entries: ReadonlyMap<string, AdminEntry>) { this.entries = entries }

  /** The entry in force at `now`, or undefined (no entry, or expired). */
  get (key: string, now: number): AdminEntry | undefined {
    const e = this.entries.get(key)
    if (e === undefined) return undefined
    return e.expiresAt !== undefined && e.expiresAt <= now ? undefined : e
  }

  /** The earliest expiry after `now`, so the core can republish when it passes. */
  nextExpiry (now: number): number | undefined {
    let next: number | undefined
    for (const e of this.entries.values()) {
      if (e.expiresAt !== undefined && e.expiresAt > now && (next === undefined || e.expiresAt < next)) next = e.expiresAt
    }
    return next
  }

  /** A table with `key` set to `entry` (undefined: removed). */
  with (key: string, entry: AdminEntry | undefined): AdminTable {
    const next = new Map(this.entries)
    if (entry === undefined) next.delete(key)
    else next.set(key, entry)
    return new AdminTable(next)
  }
}

/** The entry after `change`: undefined when it comes back to ready and unforced (nothing to keep). */
export function applyChange (current: AdminEntry | undefined, change: AdminChange): AdminEntry | undefined {
  const state = change.state ?? current?.state ?? 'ready'
  const force = change.force === 'none' ? undefined : change.force ?? current?.force
  const weight = change.weight === 'none' ? undefined : change.weight ?? current?.weight
  if (state === 'ready' && force === undefined && weight === undefined) return undefined
  return {
    state,
    force,
    expiresAt: change.expiresAt,
    setAt: change.setAt,
    note: change.note ?? current?.note,
    ...(weight === undefined ? {} : { weight }),
    ...(change.setBy === undefined ? {} : { setBy: change.setBy }),
  }
}

/** The persisted form: `{ version: 1, members: { "pool/member": { state, force?, expires_at?, set_at?, note? } } }`. */
export interface StateJson {
  version: 1
  members: Record<string, { state: AdminState, force?: Force, weight?: number, expires_at?: string, set_at?: string, set_by?: string, note?: string }>
}

/** Entries in key order, expired ones dropped. */
export function encodeTable (table: AdminTable, now: number): StateJson {
  const out: StateJson = { version: 1, members: {} }
  for (const [key, e] of [...table.entries].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)) {
    if (e.expiresAt !== undefined && e.expiresAt <= now) continue
    out.members[key] = encodeEntry(e)
  }
  return out
}

/** One entry in its persisted form (a member of StateJson). */
export function encodeEntry (e: AdminEntry): StateJson['members'][string] {
  return {
    state: e.state,
    ...(e.force === undefined ? {} : { force: e.force }),
    ...(e.weight === undefined ? {} : { weight: e.weight }),
    ...(e.expiresAt === undefined ? {} : { expires_at: new Date(e.expiresAt).toISOString() }),
    ...(e.setAt === undefined ? {} : { set_at: new Date(e.setAt).toISOString() }),
    ...(e.setBy === undefined ? {} : { set_by: e.setBy }),
    ...(e.note === undefined ? {} : { note: e.note }),
  }
}

const STATES: readonly unknown[] = ['ready', 'drain', 'maint']
const FORCES: readonly unknown[] = ['up', 'down']

/** The table in `data`, or a message saying what is wrong with it. Checks every field. */
export function decodeTable (data: unknown): AdminTable | string {
  if (!isObject(data) || data.version !== 1 || !isObject(data.members)) return 'it is not a version 1 gslb state file ({"version": 1, "members": {...}})'
  const entries = new Map<string, AdminEntry>()
  for (const [key, e] of Object.entries(data.members)) {
    if (!/^[^/\s]+\/[^/\s]+$/.test(key)) return `"${key}" is not a pool/member name`
    if (!isObject(e)) return `member "${key}" must be an object such as {"state": "drain"}: got ${JSON.stringify(e)}`
    const unknown = Object.keys(e).filter(k => !['state', 'force', 'weight', 'expires_at', 'set_at', 'set_by', 'note'].includes(k))
    if (unknown.length > 0) return `member "${key}" has unknown field "${unknown[0] as string}" (allowed: state, force, weight, expires_at, set_at, set_by, note)`
    if (!STATES.includes(e.state)) return `member "${key}": state must be ready, drain or maint: got ${JSON.stringify(e.state)}`
    if (e.force !== undefined && !FORCES.includes(e.force)) return `member "${key}": force must be up or down: got ${JSON.stringify(e.force)}`
    const expiresAt = time(e.expires_at)
    if (Number.isNaN(expiresAt)) return `member "${key}": expires_at must be an ISO time: got ${JSON.stringify(e.expires_at)}`
    const setAt = time(e.set_at)
    if (Number.isNaN(setAt)) return `member "${key}": set_at must be an ISO time: got ${JSON.stringify(e.set_at)}`
    if (e.note !== undefined && typeof e.note !== 'string') return `member "${key}": note must be a string: got ${JSON.stringify(e.note)}`
    if (e.set_by !== undefined && typeof e.set_by !== 'string') return `member "${key}": set_by must be a string: got ${JSON.stringify(e.set_by)}`
    if (e.weight !== undefined && !(typeof e.weight === 'number' && Number.isInteger(e.weight) && e.weight >= 0 && e.weight <= 1_000_000)) return `member "${key}": weight must be an integer from 0 to 1000000: got ${JSON.stringify(e.weight)}`
    entries.set(key, {
      state: e.state as AdminState,
      force: e.force as Force | undefined,
      expiresAt,
      setAt,
      note: e.note,
      ...(e.weight === undefined ? {} : { weight: e.weight }),
      ...(e.set_by === undefined ? {} : { setBy: e.set_by as string }),
    })
  }
  return new AdminTable(entries)
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Epoch ms of an ISO time; undefined when absent, NaN when not a time. */
function time (v: unknown): number | undefined {
  if (v === undefined) return undefined
  return typeof v === 'string' ? Date.parse(v) : NaN
}
