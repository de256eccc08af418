/** `gslb check`: the startup pipeline without listeners; prints every issue, exit 1 on any. */
import { loadConfig } from '../config/load.js'
import { compileAnswers } from '../dns/answer-index.js'
import { ConfigError, formatIssue } from '../errors.js'

export interface CommonOptions {
  readonly config: string
  readonly dns: readonly string[] | undefined
  readonly logLevel: string | undefined
}

export async function check (opts: CommonOptions): Promise<number> {
  try {
    const config = await loadConfig(opts.config, opts.dns === undefined ? {} : { dnsListen: opts.dns })
    compileAnswers(config.zones)
    const records = config.zones.reduce((n, z) => n + z.owners.reduce((m, o) => m + o.rrsets.reduce((k, s) => k + s.rdata.length, 0), 0), 0)
    process.stdout.write(`${config.file}: ok (${config.zones.length} zone${config.zones.length === 1 ? '' : 's'}, ${records} records)\n`)
    return 0
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    for (const issue of err.issues) process.stderr.write(`${formatIssue(issue)}\n`)
    process.stderr.write(`${err.issues.length} error${err.issues.length === 1 ? '' : 's'}\n`)
    return 1
  }
}
