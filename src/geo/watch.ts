/**
 * Keeps a geo database current: opens it at start, and when its file changes (written in place or
 * replaced by a rename, as geoipupdate does) opens the new one and hands it over whole. A new file
 * that does not open keeps the old database serving and says why. Changes are debounced, so a file
 * written in several steps is read once, after the last.
 */
import { EventEmitter } from 'node:events'
import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'
import type { Logger } from '../log.js'
import { openGeoDatabase, type GeoDatabase } from './database.js'

/** Quiet time after the last change before the file is read again. */
const DEBOUNCE_MS = 250

export interface GeoWatchEvents {
  /** A database is in use: at start, and after each change that opened. */
  loaded: [GeoDatabase]
  /** A changed file did not open; the previous database keeps serving. */
  rejected: [Error]
}

export class GeoWatch extends EventEmitter<GeoWatchEvents> {
  readonly path: string
  readonly #log: Logger
  #current: GeoDatabase | undefined
  #watcher: FSWatcher | undefined
  #timer: NodeJS.Timeout | undefined
  #loading: Promise<void> = Promise.resolve()
  #closed = false

  constructor (path: string, log: Logger) {
    super()
    this.path = path
    this.#log = log
  }

  get current (): GeoDatabase | undefined { return this.#current }

  /** Open the database (throws when it does not open) and watch its file. */
  async start (): Promise<GeoDatabase> {
    const db = await openGeoDatabase(this.path)
    this.#current = db
    this.#log.info({ file: this.path, type: db.type, builtAt: db.builtAt.toISOString() }, 'geo database loaded')
    // Watch the directory: a replacement by rename gives the file a new inode, which a watch on the file would miss.
    this.#watcher = watch(dirname(this.path), (_event, name) => {
      if (name !== null && name !== basename(this.path)) return
      clearTimeout(this.#timer)
      this.#timer = setTimeout(() => { this.#loading = this.#loading.then(() => this.#reload()) }, DEBOUNCE_MS)
    })
    this.#watcher.on('error', err => this.#log.warn({ err: err.message, file: this.path }, 'cannot watch the geo database; changes need a reload (SIGHUP)'))
    this.emit('loaded', db)
    return db
  }

  async #reload (): Promise<void> {
    if (this.#closed) return
    try {
      const db = await openGeoDatabase(this.path)
      // Closed while the file was read (a reload named another database): this one is no longer wanted.
      if (this.#closed) return
      this.#current = db
      this.#log.info({ file: this.path, type: db.type, builtAt: db.builtAt.toISOString() }, 'geo database reloaded')
      this.emit('loaded', db)
    } catch (err) {
      if (this.#closed) return
      this.#log.error({ file: this.path, err: (err as Error).message }, 'the changed geo database does not open; the previous one keeps serving')
      this.emit('rejected', err as Error)
    }
  }

  close (): void {
    this.#closed = true
    this.removeAllListeners()
    clearTimeout(this.#timer)
    this.#watcher?.close()
    this.#watcher = undefined
  }
}
