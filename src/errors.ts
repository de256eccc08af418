/**
 * The error catalogue: every condition an operator acts on has a stable code here, documented in
 * docs/errors.md (a test keeps the two in step). Codes are API: never renumber or reuse one.
 */

export const ErrorCode = {
  YAML: 'GSLB_E_YAML',
  FILE: 'GSLB_E_FILE',
  UNKNOWN_KEY: 'GSLB_E_UNKNOWN_KEY',
  REQUIRED: 'GSLB_E_REQUIRED',
  TYPE: 'GSLB_E_TYPE',
  VALUE: 'GSLB_E_VALUE',
  ADDRESS: 'GSLB_E_ADDRESS',
  NAME: 'GSLB_E_NAME',
  LISTEN: 'GSLB_E_LISTEN',
  DUPLICATE_ZONE: 'GSLB_E_DUPLICATE_ZONE',
  DUPLICATE_OWNER: 'GSLB_E_DUPLICATE_OWNER',
  CNAME_CONFLICT: 'GSLB_E_CNAME_CONFLICT',
  OUT_OF_ZONE: 'GSLB_E_OUT_OF_ZONE',
  OCCLUDED: 'GSLB_E_OCCLUDED',
  REF: 'GSLB_E_REF',
  DUPLICATE_MEMBER: 'GSLB_E_DUPLICATE_MEMBER',
  STATE_FILE: 'GSLB_E_STATE_FILE',
  GEO_DATABASE: 'GSLB_E_GEO_DATABASE',
  COOKIE_SECRET: 'GSLB_E_COOKIE_SECRET',
  // Runtime errors (the admin API answers with these in `code`).
  STATE_WRITE: 'GSLB_E_STATE_WRITE',
  STATE_UNAVAILABLE: 'GSLB_E_STATE_UNAVAILABLE',
  NO_MEMBER: 'GSLB_E_NO_MEMBER',
  BAD_REQUEST: 'GSLB_E_BAD_REQUEST',
  INTERNAL: 'GSLB_E_INTERNAL',
  RELOAD_REFUSED: 'GSLB_E_RELOAD_REFUSED',
  UNAUTHORIZED: 'GSLB_E_UNAUTHORIZED',
  ADMIN_TOKEN: 'GSLB_E_ADMIN_TOKEN',
  FORBIDDEN: 'GSLB_E_FORBIDDEN',
} as const
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode]

/** One problem found in the configuration, located in its source file. */
export interface ConfigIssue {
  readonly file: string
  readonly line: number
  readonly col: number
  /** Field path inside the file, such as `records.www.A[1]`. Empty for file-level problems. */
  readonly path: string
  readonly code: ErrorCode
  readonly message: string
}

/**
 * `file:line:col: path: message [CODE]`, the form editors and CI logs understand: always one line.
 * Messages quote the user's text, and a key or value with a CR, LF or line separator in it would
 * otherwise break the line or, with a CR, overwrite the location on a terminal.
 */
export function formatIssue (issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.col}`
  const path = issue.path === '' ? '' : `${issue.path}: `
  return oneLine(`${where}: ${path}${issue.message} [${issue.code}]`)
}

const ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

function oneLine (text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f\u2028\u2029]/g, c => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** An error at run time that an operator acts on: a stable code and a message saying what failed. */
export class GslbError extends Error {
  readonly code: ErrorCode
  constructor (code: ErrorCode, message: string) {
    super(message)
    this.name = 'GslbError'
    this.code = code
  }
}

/** Thrown when a configuration cannot be loaded; carries every issue found, not only the first. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[]
  constructor (issues: readonly ConfigIssue[]) {
    super(`${issues.length} configuration error${issues.length === 1 ? '' : 's'}:\n` +
      issues.map(formatIssue).join('\n'))
    this.name = 'ConfigError'
    this.issues = issues
  }
}
