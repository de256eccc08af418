/**
 * The DNS cookie secret: from the configuration (`dns.cookies.secret`, shared by every node that
 * should accept the others' cookies), else from a file that the first process to start creates
 * with 16 random octets. Workers race to create it; link() makes exactly one of them win and the
 * others read what it wrote, so every worker answers with the same secret.
 */
import { randomBytes } from 'node:crypto'
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { CookieOptions } from '../config/model.js'
import { parseSecret } from '../config/dns.js'
import { displayPath } from '../config/load.js'
import { ErrorCode, GslbError } from '../errors.js'
import type { Logger } from '../log.js'
import type { CookieSecrets } from './cookies.js'

/**
 * Reads the secret at start and on every reload (so a rotation written to the file applies). A
 * file that cannot be read on a reload keeps the secret already serving, with a warning: a disk
 * problem must not refuse every reload. A file that reads but holds no valid secret refuses it.
 */
export class CookieSecretSource {
  #last: { file: string, secrets: CookieSecrets } | undefined
  readonly #log: Logger

  constructor (log: Logger) { this.#log = log }

  get (opts: CookieOptions): CookieSecrets | undefined {
    const file = opts.secretFile
    try {
      const secrets = cookieSecrets(opts)
      this.#last = file === undefined || secrets === undefined ? undefined : { file, secrets }
      return secrets
    } catch (err) {
      const last = this.#last
      if (err instanceof UnreadableSecret && last !== undefined && last.file === file) {
        this.#log.warn({ err: err.message }, 'cannot read the DNS cookie secret; keeping the one serving')
        return last.secrets
      }
      throw err
    }
  }
}

/** The secret file could not be created or read (as opposed to holding something else). */
class UnreadableSecret extends GslbError {}

/** The secrets `opts` names; undefined when cookies are off. Throws GslbError (GSLB_E_COOKIE_SECRET). */
export function cookieSecrets (opts: CookieOptions): CookieSecrets | undefined {
  if (!opts.enabled) return undefined
  if (opts.secret !== undefined) return { current: opts.secret, previous: opts.previousSecret }
  const file = opts.secretFile
  if (file === undefined) return undefined
  let text: string
  try {
    text = readOrCreate(file)
  } catch (err) {
    throw new UnreadableSecret(ErrorCode.COOKIE_SECRET, `${displayPath(file)}: cannot create or read the DNS cookie secret: ${(err as Error).message}`)
  }
  const lines = text.split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#'))
  const [current, previous] = lines.map(parseSecret)
  if (current === undefined || lines.length > 2 || (lines.length === 2 && previous === undefined)) {
    const bad = current === undefined ? 1 : lines.length > 2 ? 3 : 2
    throw new GslbError(ErrorCode.COOKIE_SECRET, `${displayPath(file)}: ${bad === 3 ? 'at most two secrets (the current one, then the previous one)' : `line ${bad} must be 32 hexadecimal digits (16 octets)`}`)
  }
  return { current, previous }
}

function readOrCreate (file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  mkdirSync(dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${randomBytes(16).toString('hex')}\n`, { mode: 0o600 })
  try {
    linkSync(tmp, file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  } finally {
    unlinkSync(tmp)
  }
  return readFileSync(file, 'utf8')
}
