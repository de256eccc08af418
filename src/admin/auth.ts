/**
 * The admin API's bearer token. When `listen.admin` is not a loopback address a token is required
 * (gslb refuses to start without one); when one is configured it is required on every request,
 * whatever the address. Tokens are compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { dirname, resolve } from 'node:path'
import type { GslbConfig } from '../config/model.js'
import { ErrorCode, GslbError } from '../errors.js'

/** The environment variable that holds the token (it wins over admin.token_file). */
export const TOKEN_ENV = 'GSLB_ADMIN_TOKEN'
/** Shorter tokens are refused: `openssl rand -hex 16` gives 32 characters. */
export const MIN_TOKEN_LENGTH = 16

/** The token for `config`, from GSLB_ADMIN_TOKEN or admin.token_file; undefined when none. Throws a GslbError on an unreadable file. */
export function adminToken (config: Pick<GslbConfig, 'file' | 'admin'>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env[TOKEN_ENV]?.trim()
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < MIN_TOKEN_LENGTH) throw new GslbError(ErrorCode.ADMIN_TOKEN, `${TOKEN_ENV} is shorter than ${MIN_TOKEN_LENGTH} characters`)
    return fromEnv
  }
  if (config.admin.tokenFile === undefined) return undefined
  const path = resolve(dirname(config.file), config.admin.tokenFile)
  let text: string
  try {
    text = readFileSync(path, 'utf8').trim()
  } catch (err) {
    throw new GslbError(ErrorCode.ADMIN_TOKEN, `cannot read admin.token_file ${path}: ${(err as Error).message}`)
  }
  if (text.length < MIN_TOKEN_LENGTH) throw new GslbError(ErrorCode.ADMIN_TOKEN, `the token in ${path} is shorter than ${MIN_TOKEN_LENGTH} characters`)
  return text
}

export function isLoopback (host: string): boolean {
  if (isIP(host) === 4) return host.startsWith('127.')
  return host === '::1'
}

/** A checker of Authorization headers for `token` (constant time in the token's length). */
export function tokenChecker (token: string): (header: string | undefined) => boolean {
  const want = createHash('sha256').update(token).digest()
  return header => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
    if (m === null) return false
    return timingSafeEqual(createHash('sha256').update(m[1] as string).digest(), want)
  }
}
