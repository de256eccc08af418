/**
 * Admin state kept in a JSON file (`health.state_file`): read at start, rewritten whole on every
 * change, so restarts and reloads keep a drain. One process writes it (the primary, with
 * `--workers`).
 *
 * Invariants:
 * - A change is applied only after its write succeeded (temporary file, fsync, rename): the file
 *   and the state served never disagree, and a change reported as failed never takes effect.
 * - Writes run one at a time; a failed write does not fail the ones after it.
 * - A state file that cannot be read or trusted stops the start (GSLB_E_STATE_FILE): silently
 *   forgetting a drain would send traffic to a member an operator took out.
 */
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { ConfigError, ErrorCode, GslbError } from '../errors.js'
import type { Logger } from '../log.js'
import { AdminTable, applyChange, decodeTable, encodeTable, type AdminChange, type AdminStore } from './admin-state.js'
import type { Clock } from './clock.js'

export class FileAdminStore implements AdminStore {
  readonly #file: string
  readonly #clock: Clock
  readonly #log: Logger
  readonly #listeners: Array<() => void> = []
  #table = AdminTable.EMPTY
  /** The last write queued; each write waits for it, whether it failed or not. */
  #tail: Promise<unknown> = Promise.resolve()

  constructor (file: string, clock: Clock, log: Logger) {
    this.#file = file
    this.#clock = clock
    this.#log = log
  }

  get table (): AdminTable { return this.#table }

  onChange (fn: () => void): void { this.#listeners.push(fn) }

  async load (): Promise<void> {
    await this.#removeStaleTemporaries()
    let text: string
    try {
      text = await readFile(this.#file, 'utf8')
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return
      throw stateFileError(this.#file, `cannot read the admin state file: ${(err as Error).message}`)
    }
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch (err) {
      throw stateFileError(this.#file, `the admin state file is not valid JSON (${(err as Error).message}); fix or remove it`)
    }
    const table = decodeTable(data)
    if (typeof table === 'string') throw stateFileError(this.#file, `the admin state file cannot be used: ${table}; fix or remove it`)
    this.#table = table
  }

  update (keys: readonly string[], change: AdminChange): Promise<void> {
    const run = this.#tail.then(async () => {
      const now = this.#clock.now()
      let next = this.#table
      for (const key of keys) next = next.with(key, applyChange(next.get(key, now), change))
      await this.#write(next)
      this.#table = next
      for (const fn of this.#listeners) fn()
    })
    this.#tail = run.catch(() => {})
    return run
  }

  /**
   * Keep `table` whole (a copy of a state kept elsewhere: the cluster's, in Redis). Queued like
   * changes; rejects with GSLB_E_STATE_WRITE and keeps the previous table when the write fails.
   */
  replace (table: AdminTable): Promise<void> {
    const run = this.#tail.then(async () => {
      await this.#write(table)
      this.#table = table
    })
    this.#tail = run.catch(() => {})
    return run
  }

  close (): void { this.#listeners.length = 0 }

  /** Write `table` to a temporary file, flush it to disk, and rename it over the state file. */
  async #write (table: AdminTable): Promise<void> {
    const text = JSON.stringify(encodeTable(table, this.#clock.now()), null, 2) + '\n'
    const tmp = `${this.#file}.${process.pid}.tmp`
    try {
      await mkdir(dirname(this.#file), { recursive: true })
      const fh = await open(tmp, 'w')
      try {
        await fh.writeFile(text)
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(tmp, this.#file)
    } catch (err) {
      await unlink(tmp).catch(() => {})
      throw new GslbError(ErrorCode.STATE_WRITE, `cannot write the admin state file ${this.#file}: ${(err as Error).message}; the change was not applied`)
    }
  }

  /** Temporary files of processes that died mid-write (kill -9) are removed; a live writer's are left. */
  async #removeStaleTemporaries (): Promise<void> {
    const dir = dirname(this.#file)
    const pattern = new RegExp(`^${escapeRegExp(basename(this.#file))}\\.(\\d+)\\.tmp$`)
    let names: string[]
    try {
      names = await readdir(dir)
    } catch {
      return // no directory yet: nothing to clean
    }
    for (const name of names) {
      const pid = Number(pattern.exec(name)?.[1] ?? NaN)
      if (Number.isNaN(pid) || (pid !== process.pid && alive(pid))) continue
      try {
        await unlink(join(dir, name))
        this.#log.info({ file: join(dir, name) }, 'removed a temporary admin state file left by a process that stopped mid-write')
      } catch (err) {
        this.#log.warn({ file: join(dir, name), err: (err as Error).message }, 'cannot remove a stale temporary admin state file')
      }
    }
  }
}

export function stateFileError (file: string, message: string): ConfigError {
  return new ConfigError([{ file, line: 1, col: 1, path: '', code: ErrorCode.STATE_FILE, message }])
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM'
  }
}

function escapeRegExp (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
