/**
 * Reload on edit: watches the configuration file and the zone directory, and calls `reload` once
 * the files have been quiet for DEBOUNCE_MS (an editor's save is several writes, or a write and a
 * rename). Directories are watched rather than files, so a file replaced by a rename is still seen.
 * After each reload the zone directory is watched again, in case the configuration moved it.
 */
import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import type { Logger } from '../log.js'

/** Quiet time after the last change before the reload. */
export const DEBOUNCE_MS = 250

export class ConfigWatch {
  readonly #file: string
  readonly #reload: () => Promise<unknown>
  readonly #log: Logger
  #zonesDir: string
  readonly #watchers: FSWatcher[] = []
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor (file: string, zonesDir: string, reload: () => Promise<unknown>, log: Logger) {
    this.#file = resolve(file)
    this.#zonesDir = resolve(dirname(this.#file), zonesDir)
    this.#reload = reload
    this.#log = log
  }

  start (): void {
    this.#watch(dirname(this.#file), name => name === basename(this.#file))
    this.#watch(this.#zonesDir, name => name.endsWith('.yaml') || name.endsWith('.yml'))
  }

  /** The zone directory of the configuration now serving (after a reload that may have changed it). */
  follow (zonesDir: string): void {
    const next = resolve(dirname(this.#file), zonesDir)
    if (next === this.#zonesDir || this.#closed) return
    this.#zonesDir = next
    for (const w of this.#watchers.splice(0)) w.close()
    this.start()
  }

  close (): void {
    this.#closed = true
    clearTimeout(this.#timer)
    for (const w of this.#watchers.splice(0)) w.close()
  }

  #watch (dir: string, relevant: (name: string) => boolean): void {
    try {
      const w = watch(dir, (_event, name) => {
        if (name !== null && !relevant(name)) return
        clearTimeout(this.#timer)
        this.#timer = setTimeout(() => this.#fire(), DEBOUNCE_MS)
      })
      w.on('error', err => this.#log.warn({ dir, err: err.message }, 'cannot watch for configuration changes; reload with SIGHUP'))
      this.#watchers.push(w)
    } catch (err) {
      this.#log.warn({ dir, err: (err as Error).message }, 'cannot watch for configuration changes; reload with SIGHUP')
    }
  }

  #fire (): void {
    if (this.#closed) return
    this.#log.info('configuration files changed; reloading')
    // One reload at a time; a change during one is picked up by the next.
    // The reload runs after any reload in progress (Gslb.reload() queues them).
    void this.#reload().catch(() => {})
  }
}
