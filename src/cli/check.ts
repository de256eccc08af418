/** `gslb check`: the startup pipeline without listeners; prints every issue, exit 1 on any. */
import { loadConfig } from '../config/load.js'
import type { LoadOptions } from '../config/load.js'
import { countRecords } from '../config/zone-file.js'
import { compileConfig } from '../dns/serving.js'
import { ConfigError, formatIssue } from '../errors.js'

export interface CommonOptions {
  readonly config: string
  readonly dns: readonly string[] | undefined
  readonly admin: string | undefined
  readonly http: string | undefined
  readonly logLevel: string | undefined
}

export async function check (opts: CommonOptions): Promise<number> {
  try {
    const config = await loadConfig(opts.config, loadOptions(opts))
    compileConfig(config)
    const records = config.zones.reduce((n, z) => n + countRecords(z), 0)
    const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`
    process.stdout.write(`${config.file}: ok (${plural(config.zones.length, 'zone')}, ${plural(records, 'record')}, ${plural(config.pools.length, 'pool')}, ${plural(config.checks.length, 'check')})\n`)
    return 0
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    for (const issue of err.issues) process.stderr.write(`${formatIssue(issue)}\n`)
    process.stderr.write(`${err.issues.length} error${err.issues.length === 1 ? '' : 's'}\n`)
    return 1
  }
}

export function loadOptions (opts: CommonOptions): LoadOptions {
  return {
    ...(opts.dns === undefined ? {} : { dnsListen: opts.dns }),
    ...(opts.admin === undefined ? {} : { adminListen: opts.admin }),
    ...(opts.http === undefined ? {} : { httpListen: opts.http }),
  }
}
