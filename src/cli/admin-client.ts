/**
 * The client side of the admin API, for `gslb admin` and `gslb explain`. It needs only the admin
 * address: --admin ADDR:PORT, else `listen.admin` read from the configuration file without checking
 * the rest of it (a broken configuration elsewhere does not stop an operator from draining a
 * member). The token comes from GSLB_ADMIN_TOKEN or the file `admin.token_file` names. Failures
 * are Errors with a one-line message.
 */
import { readFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { dirname, resolve } from 'node:path'
import { parse } from 'yaml'
import { TOKEN_ENV } from '../admin/auth.js'
import { parseListen } from '../config/load.js'
import { ErrorCode, GslbError } from '../errors.js'
import { hostPort } from '../net/address.js'

/** A client for the server `config` (or `admin`, when given) names. */
export async function adminClient (config: string, admin: string | undefined): Promise<AdminClient> {
  const { base, token } = await target({ config, admin })
  return new AdminClient(base, token)
}

/** The admin address and token, from the flags or the configuration file (read, not validated). */
async function target (opts: { config: string, admin: string | undefined }): Promise<{ base: string, token: string | undefined }> {
  let token = process.env[TOKEN_ENV]?.trim()
  if (token === '') token = undefined
  if (opts.admin !== undefined && token !== undefined) return { base: opts.admin, token }
  let doc: { listen?: { admin?: unknown }, admin?: { token_file?: unknown } } | undefined
  try {
    doc = parse(await readFile(opts.config, 'utf8')) as typeof doc
  } catch (err) {
    if (opts.admin !== undefined) return { base: opts.admin, token }
    throw new Error(`cannot read ${opts.config} for listen.admin (${(err as Error).message}); pass --admin ADDR:PORT`)
  }
  if (token === undefined && typeof doc?.admin?.token_file === 'string') {
    try {
      token = (await readFile(resolve(dirname(opts.config), doc.admin.token_file), 'utf8')).trim()
    } catch (err) {
      throw new Error(`cannot read admin.token_file: ${(err as Error).message}`)
    }
  }
  if (opts.admin !== undefined) return { base: opts.admin, token }
  const listen = doc?.listen?.admin
  if (typeof listen !== 'string') throw new Error(`${opts.config} has no listen.admin; pass --admin ADDR:PORT`)
  const a = parseListen(listen)
  if (typeof a === 'string') throw new Error(`${opts.config}: listen.admin: ${a}`)
  return { base: hostPort(a.host, a.port), token }
}

export class AdminClient {
  readonly #base: string
  /** The admin API it talks to: `http://ADDR:PORT`. */
  get base (): string { return this.#base }
  readonly #headers: Record<string, string>

  constructor (base: string, token: string | undefined) {
    this.#base = `http://${base}`
    let user = process.env.USER ?? ''
    if (user === '') { try { user = userInfo().username } catch { user = 'unknown' } }
    this.#headers = { 'x-gslb-user': user.replace(/[^\w.@-]/g, '_').slice(0, 64), ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }
  }

  async get (path: string): Promise<Record<string, unknown>> { return await this.#send('GET', path) }
  async put (path: string, body: unknown): Promise<Record<string, unknown>> { return await this.#send('PUT', path, body) }
  async post (path: string): Promise<{ status: number, body: Record<string, unknown> }> {
    return await this.#send('POST', path, undefined, true) as unknown as { status: number, body: Record<string, unknown> }
  }

  async #send (method: string, path: string, body?: unknown, raw = false): Promise<Record<string, unknown>> {
    let res: Response
    try {
      res = await fetch(`${this.#base}${path}`, {
        method,
        headers: { ...this.#headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
    } catch (err) {
      const cause = (err as { cause?: { code?: string, message?: string } }).cause
      throw new Error(`cannot reach ${this.#base}: ${cause?.code ?? cause?.message ?? (err as Error).message} (is gslb serve running?)`)
    }
    let json: Record<string, unknown>
    try {
      json = await res.json() as Record<string, unknown>
    } catch {
      throw new Error(`${this.#base}${path} answered ${res.status} without JSON`)
    }
    if (raw) return { status: res.status, body: json }
    if (!res.ok) {
      const code = typeof json.code === 'string' ? json.code as ErrorCode : ErrorCode.INTERNAL
      throw new GslbError(code, `${String(json.error ?? res.status)} [${code}]`)
    }
    return json
  }
}

