#!/usr/bin/env node
/**
 * `gslb` command line: serve, check, admin, explain. Exit codes: 0 ok, 1 configuration or
 * runtime error, 2 usage.
 */
import { parseArgs } from 'node:util'
import { admin } from './admin.js'
import { check } from './check.js'
import { explainCommand } from './explain.js'
import { serve } from './serve.js'

const USAGE = `Usage: gslb <command> [options]

Commands:
  serve   Run the DNS server, and the redirect service and admin API when configured
  check   Validate the configuration and zones; print file:line:col errors; exit 1 on error
  admin   Show or change member state on a running server:
            admin status
            admin drain|maint|ready|force-up|force-down|unforce POOL/MEMBER [--for 30m] [--note TEXT]
  explain Why a client gets its answer (asks the running server; --offline evaluates -c FILE):
            explain NAME [TYPE] --client IP [--ecs CIDR] [--json]
            explain --url URL --client IP [--json]

Options:
  -c, --config FILE    configuration file (default: gslb.yaml)
      --dns ADDR:PORT  DNS listen address, repeatable; replaces listen.dns from the file
      --http ADDR:PORT   HTTP redirect listen address; replaces listen.http
      --admin ADDR:PORT  admin API address (serve: replaces listen.admin; admin: where to connect)
      --workers N      serve: processes sharing the listeners (default: 1)
      --no-watch       serve: do not reload when gslb.yaml or a zone file changes
      --log-level L    fatal|error|warn|info|debug|trace (default: from the file, else info)
  -h, --help           show this help
`

async function main (argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c', default: 'gslb.yaml' },
        dns: { type: 'string', multiple: true },
        workers: { type: 'string' },
        admin: { type: 'string' },
        http: { type: 'string' },
        for: { type: 'string' },
        note: { type: 'string' },
        client: { type: 'string' },
        ecs: { type: 'string' },
        url: { type: 'string' },
        json: { type: 'boolean' },
        offline: { type: 'boolean' },
        'no-watch': { type: 'boolean' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    process.stderr.write(`gslb: ${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  const { values, positionals } = parsed
  const command = positionals[0]
  if (values.help === true || command === undefined) {
    process.stdout.write(USAGE)
    return command === undefined && values.help !== true ? 2 : 0
  }
  const common = { config: values.config, dns: values.dns, logLevel: values['log-level'], admin: values.admin, http: values.http }
  switch (command) {
    case 'serve': {
      const workers = values.workers === undefined ? 1 : Number(values.workers)
      if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
        process.stderr.write(`gslb: --workers must be an integer from 1 to 64: got "${values.workers ?? ''}"\n`)
        return 2
      }
      return await serve({ ...common, workers, watch: values['no-watch'] !== true })
    }
    case 'check':
      return await check(common)
    case 'explain':
      return await explainCommand({
        config: values.config, admin: values.admin, args: positionals.slice(1), client: values.client, ecs: values.ecs, url: values.url,
        json: values.json === true, offline: values.offline === true,
      })
    case 'admin':
      return await admin({ config: values.config, admin: values.admin, args: positionals.slice(1), duration: values.for, note: values.note, json: values.json === true })
    default:
      process.stderr.write(`gslb: unknown command "${command}"\n\n${USAGE}`)
      return 2
  }
}

main(process.argv.slice(2)).then(code => {
  // serve keeps running on success; any failure ends the process (workers included).
  if (code !== 0) process.exit(code)
}, err => {
  process.stderr.write(`gslb: ${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
})
