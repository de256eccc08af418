/** Admin state kept in memory only: for tests and tools that keep nothing across restarts. */
import { AdminTable, applyChange, type AdminChange, type AdminStore } from './admin-state.js'

export class MemoryAdminStore implements AdminStore {
  #table = AdminTable.EMPTY
  readonly #listeners: Array<() => void> = []
  get table (): AdminTable { return this.#table }
  async load (): Promise<void> {}
  async update (keys: readonly string[], change: AdminChange): Promise<void> {
    for (const key of keys) this.#table = this.#table.with(key, applyChange(this.#table.get(key, change.setAt), change))
    for (const fn of this.#listeners) fn()
  }

  onChange (fn: () => void): void { this.#listeners.push(fn) }
  close (): void { this.#listeners.length = 0 }
}
