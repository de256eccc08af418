/**
 * DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018): a server cookie is
 * version 1, three reserved octets, a 32-bit timestamp and SipHash-2-4 under a 16-byte secret of
 * client cookie | version | reserved | timestamp | client address. Any server holding the same
 * secret (every worker, and every node given the same `dns.cookies.secret`) verifies it, so no
 * per-client state is kept. docs/security.md says how they are used.
 */
import { addressBytes } from '../core/wire-bytes.js'
import { siphash24 } from './siphash.js'

export const CLIENT_COOKIE = 8
export const SERVER_COOKIE = 16
/** Option lengths RFC 7873 §5.2.2 accepts: a client cookie alone, or with a server cookie of 8 to 32 octets. */
export function cookieLengthOk (len: number): boolean {
  return len === CLIENT_COOKIE || (len >= CLIENT_COOKIE + 8 && len <= CLIENT_COOKIE + 32)
}

/** RFC 9018 §4.3: a server cookie holds for an hour, and may come from a clock up to 5 minutes ahead. */
export const COOKIE_LIFETIME_S = 3600
export const COOKIE_CLOCK_SKEW_S = 300

/** What a query's cookie option was. */
export const Cookie = {
  NONE: 0,
  /** A client cookie alone, or one with a server cookie that is not ours or too old. */
  CLIENT_ONLY: 1,
  /** A server cookie we made for this client in the last hour. */
  VALID: 2,
  /** A server cookie that does not verify: BADCOOKIE over UDP. */
  BAD: 3,
} as const
export type Cookie = typeof Cookie[keyof typeof Cookie]

/** The secrets: `current` makes cookies; `previous` (after a rotation) still verifies them. */
export interface CookieSecrets {
  readonly current: Buffer
  readonly previous: Buffer | undefined
}

const input = Buffer.alloc(CLIENT_COOKIE + 8 + 16)
const hash = Buffer.alloc(8)
/** Hashed for a client whose address cannot be read (never one Node reports). */
const NO_ADDRESS = Buffer.alloc(4)

/**
 * The cookie option for the reply to a query whose COOKIE option is `msg[at, at + len)` (a valid
 * length), from `client` at `now` (seconds since the epoch), and what the query's server cookie
 * was. The reply echoes the client cookie with a fresh server cookie (RFC 9018 §4.3 lets a server
 * renew it on every reply; it costs one hash).
 */
export function answerCookie (secrets: CookieSecrets, msg: Buffer, at: number, len: number, client: string, now: number): { reply: Buffer, verdict: Cookie } {
  const ip = addressBytes(client) ?? NO_ADDRESS
  let verdict: Cookie = Cookie.CLIENT_ONLY
  if (len > CLIENT_COOKIE) {
    verdict = len === CLIENT_COOKIE + SERVER_COOKIE && (
      verifies(secrets.current, msg, at, ip, now) || (secrets.previous !== undefined && verifies(secrets.previous, msg, at, ip, now))
    ) ? Cookie.VALID : Cookie.BAD
  }
  const reply = Buffer.allocUnsafe(CLIENT_COOKIE + SERVER_COOKIE)
  msg.copy(reply, 0, at, at + CLIENT_COOKIE)
  reply[8] = 1
  reply[9] = 0; reply[10] = 0; reply[11] = 0
  reply.writeUInt32BE(now >>> 0, 12)
  serverHash(secrets.current, reply, 0, ip, reply, 16)
  return { reply, verdict }
}

/** Our server cookie is `msg[at + 8, at + 24)`: version 1, within its lifetime, and its hash matches. */
function verifies (secret: Buffer, msg: Buffer, at: number, ip: Buffer, now: number): boolean {
  if (msg[at + 8] !== 1) return false
  const age = (now - msg.readUInt32BE(at + 12)) | 0 // serial arithmetic: the timestamp wraps in 2106
  if (age > COOKIE_LIFETIME_S || age < -COOKIE_CLOCK_SKEW_S) return false
  serverHash(secret, msg, at, ip, hash, 0)
  return hash.equals(msg.subarray(at + 16, at + 24))
}

/**
 * SipHash-2-4 of client cookie | version | reserved | timestamp (the 16 octets at `cookie[at]`,
 * reserved octets as they are: RFC 9018 §4.4) | client address, into `out[outAt]`.
 */
function serverHash (secret: Buffer, cookie: Buffer, at: number, ip: Buffer, out: Buffer, outAt: number): void {
  cookie.copy(input, 0, at, at + 16)
  ip.copy(input, 16)
  siphash24(secret, input, 0, 16 + ip.length, out, outAt)
}
