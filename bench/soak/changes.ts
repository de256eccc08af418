/**
 * What the soak changes on the running server besides its load: reloads through the admin API
 * (a real edit of m2's weight, and every fourth one a broken file that must be refused while the
 * previous configuration keeps serving, then the good file put back), and admin changes (drain
 * and ready m1, set and reset m2's weight). Each step checks the API's answer; whatever it did
 * not expect is kept in `unexpected`.
 */
import { writeConfig, type ConfigOptions } from './config.js'
import { api } from './tools.js'

export class Reloads {
  ok = 0
  /** Broken configurations refused (422) with the old version still serving, as they must be. */
  refused = 0
  readonly unexpected: string[] = []
  #n = 0
  #m2Weight = 2
  readonly #dir: string
  readonly #opts: ConfigOptions

  constructor (dir: string, opts: ConfigOptions) {
    this.#dir = dir
    this.#opts = opts
  }

  async step (): Promise<void> {
    this.#n++
    const admin = this.#opts.listen.admin
    const before = await api(admin, 'GET', '/v1/status')
    if (this.#n % 4 === 0) {
      writeConfig(this.#dir, this.#opts, { kind: 'broken' })
      const r = await api(admin, 'POST', '/v1/reload')
      const errors = r.body.errors
      const after = await api(admin, 'GET', '/v1/status')
      // The good file goes back; it is what serves, so it needs no reload.
      writeConfig(this.#dir, this.#opts, { kind: 'good', m2Weight: this.#m2Weight })
      if (r.status === 422 && Array.isArray(errors) && errors.length > 0 && after.body.version === before.body.version) this.refused++
      else this.unexpected.push(`broken reload ${String(this.#n)}: ${String(r.status)} ${r.text.slice(0, 200)}; version ${String(before.body.version)} -> ${String(after.body.version)}`)
      return
    }
    this.#m2Weight = this.#m2Weight === 2 ? 3 : 2
    writeConfig(this.#dir, this.#opts, { kind: 'good', m2Weight: this.#m2Weight })
    const r = await api(admin, 'POST', '/v1/reload')
    if (r.status === 200 && r.body.ok === true && r.body.version !== before.body.version) this.ok++
    else this.unexpected.push(`reload ${String(this.#n)}: ${String(r.status)} ${r.text.slice(0, 200)}`)
  }
}

const ADMIN_STEPS: ReadonlyArray<{ readonly member: string, readonly body: Record<string, unknown> }> = [
  { member: 'm1', body: { state: 'drain', note: 'soak' } },
  { member: 'm2', body: { weight: 5, note: 'soak' } },
  { member: 'm1', body: { state: 'ready' } },
  { member: 'm2', body: { weight: null } },
]

export class AdminChanges {
  ok = 0
  readonly unexpected: string[] = []
  #n = 0
  readonly #admin: string

  constructor (admin: string) { this.#admin = admin }

  async step (): Promise<void> {
    const s = ADMIN_STEPS[this.#n++ % ADMIN_STEPS.length]
    if (s === undefined) return
    const r = await api(this.#admin, 'PUT', `/v1/members/web/${s.member}/admin`, s.body)
    if (r.status === 200) this.ok++
    else this.unexpected.push(`admin ${s.member} ${JSON.stringify(s.body)}: ${String(r.status)} ${r.text.slice(0, 200)}`)
  }

  /** Leave every member as configured (ready, configured weight). */
  async reset (): Promise<void> {
    for (const member of ['m1', 'm2']) await api(this.#admin, 'PUT', `/v1/members/web/${member}/admin`, { state: 'ready', weight: null })
  }
}
