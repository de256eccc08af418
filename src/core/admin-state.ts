/**
 * Operator admin state per member (`pool/member`): ready | drain | maint, and force up/down, each
 * with an optional expiry. Kept apart from checked health (both are shown), persisted to a JSON
 * state file with an atomic rename on every change, and read back at start, so restarts and
 * reloads keep a drain. A state file that cannot be read stops the start: silently forgetting a
 * drain would send traffic to a member an operator took out.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ConfigError, ErrorCode } from '../errors.js'
import type { Clock } from './clock.js'

export type AdminState = 'ready' | 'drain' | 'maint'
export type Force = 'up' | 'down'

export interface AdminEntry {
  readonly state: AdminState
  readonly force: Force | undefined
  /** Epoch ms after which the entry no longer applies. */
  readonly expiresAt: number | undefined
  readonly setAt: number
  readonly note: string | undefined
}

interface StateFile { version: 1, members: Record<string, { state: AdminState, force?: Force, expires_at?: string, set_at: string, note?: string }> }

export class AdminStore {
  readonly #file: string
  readonly #clock: Clock
  #entries = new Map<string, AdminEntry>()
  #writing: Promise<void> = Promise.resolve()

  constructor (file: string, clock: Clock) {
    this.#file = file
    this.#clock = clock
  }

  get file (): string { return this.#file }

  async load (): Promise<void> {
    let text: string
    try {
      text = await readFile(this.#file, 'utf8')
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return
      throw stateError(this.#file, `cannot read the admin state file: ${(err as Error).message}`)
    }
    let parsed: StateFile
    try {
      parsed = JSON.parse(text) as StateFile
    } catch (err) {
      throw stateError(this.#file, `the admin state file is not valid JSON (${(err as Error).message}); fix or remove it`)
    }
    if (parsed?.version !== 1 || typeof parsed.members !== 'object' || parsed.members === null) {
      throw stateError(this.#file, 'the admin state file is not a version 1 gslb state file; fix or remove it')
    }
    const entries = new Map<string, AdminEntry>()
    for (const [key, e] of Object.entries(parsed.members)) {
      if (!['ready', 'drain', 'maint'].includes(e.state) || (e.force !== undefined && !['up', 'down'].includes(e.force))) {
        throw stateError(this.#file, `member "${key}" has an invalid state: ${JSON.stringify(e)}`)
      }
      const expiresAt = e.expires_at === undefined ? undefined : Date.parse(e.expires_at)
      if (expiresAt !== undefined && Number.isNaN(expiresAt)) throw stateError(this.#file, `member "${key}" has an invalid expires_at: ${e.expires_at ?? ''}`)
      entries.set(key, { state: e.state, force: e.force, expiresAt, setAt: Date.parse(e.set_at), note: e.note })
    }
    this.#entries = entries
  }

  /** The entry in force now, or undefined (no entry, or expired). */
  get (key: string): AdminEntry | undefined {
    const e = this.#entries.get(key)
    if (e === undefined) return undefined
    return e.expiresAt !== undefined && e.expiresAt <= this.#clock.now() ? undefined : e
  }

  /** Every entry in force, by key. */
  entries (): Map<string, AdminEntry> {
    const out = new Map<string, AdminEntry>()
    for (const key of this.#entries.keys()) {
      const e = this.get(key)
      if (e !== undefined) out.set(key, e)
    }
    return out
  }

  /** The earliest future expiry, so the core can republish when it passes. */
  nextExpiry (): number | undefined {
    let next: number | undefined
    for (const e of this.#entries.values()) {
      if (e.expiresAt !== undefined && e.expiresAt > this.#clock.now() && (next === undefined || e.expiresAt < next)) next = e.expiresAt
    }
    return next
  }

  async set (key: string, entry: Omit<AdminEntry, 'setAt'>): Promise<AdminEntry> {
    const full = { ...entry, setAt: this.#clock.now() }
    if (full.state === 'ready' && full.force === undefined) this.#entries.delete(key)
    else this.#entries.set(key, full)
    await this.#save()
    return full
  }

  /** Write the file: to a temporary name, then rename, one write at a time. */
  #save (): Promise<void> {
    const data: StateFile = { version: 1, members: {} }
    for (const [key, e] of [...this.#entries].sort((a, b) => a[0].localeCompare(b[0]))) {
      data.members[key] = {
        state: e.state,
        ...(e.force === undefined ? {} : { force: e.force }),
        ...(e.expiresAt === undefined ? {} : { expires_at: new Date(e.expiresAt).toISOString() }),
        set_at: new Date(e.setAt).toISOString(),
        ...(e.note === undefined ? {} : { note: e.note }),
      }
    }
    const text = JSON.stringify(data, null, 2) + '\n'
    this.#writing = this.#writing.then(async () => {
      await mkdir(dirname(this.#file), { recursive: true })
      const tmp = `${this.#file}.${process.pid}.tmp`
      await writeFile(tmp, text)
      await rename(tmp, this.#file)
    })
    return this.#writing
  }
}

function stateError (file: string, message: string): ConfigError {
  return new ConfigError([{ file, line: 1, col: 1, path: '', code: ErrorCode.STATE_FILE, message }])
}
