/**
 * `gslb explain`: why a client gets the answer it gets.
 *   gslb explain NAME [TYPE] --client IP [--ecs CIDR] [--json]     a DNS answer
 *   gslb explain --url URL --client IP [--json]                    a redirect
 * Asks the running server (GET /v1/explain on listen.admin, or --admin), so health and admin state
 * are live. With --offline it evaluates the configuration (-c) itself, every member taken as up.
 */
import { Gslb } from '../app.js'
import { ConfigError, formatIssue, GslbError } from '../errors.js'
import type { DnsExplain, ExplainQuery, HttpExplain } from '../explain/explain.js'
import { renderExplain } from '../explain/render.js'
import { silentLogger } from '../log.js'
import { adminClient } from './admin-client.js'

export interface ExplainOptions {
  readonly config: string
  readonly admin: string | undefined
  readonly args: readonly string[]
  readonly client: string | undefined
  readonly ecs: string | undefined
  readonly url: string | undefined
  readonly json: boolean
  readonly offline: boolean
}

export const EXPLAIN_USAGE = `Usage:
  gslb explain NAME [TYPE] --client IP [--ecs CIDR] [--json] [--offline -c FILE]
  gslb explain --url URL --client IP [--json] [--offline -c FILE]

Shows the geo lookup, the client's sites, each site and member with its health and admin state,
the policy steps and the final answer (or redirect). Asks the running server at listen.admin
(or --admin ADDR:PORT); --offline evaluates the configuration file instead, every member up.
`

export async function explainCommand (opts: ExplainOptions): Promise<number> {
  const [name, type] = opts.args
  if (opts.client === undefined || (name === undefined && opts.url === undefined) || (name !== undefined && opts.url !== undefined)) {
    process.stderr.write(EXPLAIN_USAGE)
    return 2
  }
  const q: ExplainQuery = {
    client: opts.client,
    ...(name === undefined ? {} : { name }),
    ...(type === undefined ? {} : { type }),
    ...(opts.url === undefined ? {} : { url: opts.url }),
    ...(opts.ecs === undefined ? {} : { ecs: opts.ecs }),
  }
  let result: DnsExplain | HttpExplain
  try {
    result = opts.offline ? await offline(opts.config, q) : await online(opts, q)
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const issue of err.issues) process.stderr.write(`${formatIssue(issue)}\n`)
      return 1
    }
    process.stderr.write(`gslb explain: ${(err as Error).message}\n`)
    return err instanceof GslbError && err.code === 'GSLB_E_BAD_REQUEST' ? 2 : 1
  }
  process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : renderExplain(result))
  return 0
}

async function offline (file: string, q: ExplainQuery): Promise<DnsExplain | HttpExplain> {
  const app = await Gslb.offline(file, silentLogger)
  try {
    return await app.explain(q)
  } finally {
    await app.close()
  }
}

/** Asks the running server, as `gslb admin` does (the same address, token and errors). */
async function online (opts: ExplainOptions, q: ExplainQuery): Promise<DnsExplain | HttpExplain> {
  const api = await adminClient(opts.config, opts.admin)
  const params = new URLSearchParams(Object.entries(q) as Array<[string, string]>)
  return await api.get(`/v1/explain?${params.toString()}`) as unknown as DnsExplain | HttpExplain
}
