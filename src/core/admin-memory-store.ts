/** Admin state kept in memory only: for tests and tools that keep nothing across restarts. */
import { AdminTable, applyChange, type AdminChange, type AdminEntry, type AdminStore } from './admin-state.js'

export class MemoryAdminStore implements AdminStore {
  #table = AdminTable.EMPTY
  readonly #listeners: Array<() => void> = []
  get table (): AdminTable { return this.#table }
  async load (): Promise<void> {}
  async update (key: string, change: AdminChange): Promise<AdminEntry | undefined> {
    const entry = applyChange(this.#table.get(key, change.setAt), change)
    this.#table = this.#table.with(key, entry)
    for (const fn of this.#listeners) fn()
    return entry
  }

  onChange (fn: () => void): void { this.#listeners.push(fn) }
  close (): void { this.#listeners.length = 0 }
}
