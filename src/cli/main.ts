#!/usr/bin/env node
/**
 * `gslb` command line: serve, check, admin, explain. Each command takes its own options and has
 * its own --help; an unknown option or command gets a "did you mean". Exit codes: 0 ok, 1
 * configuration or runtime error, 2 usage.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { closest } from '../suggest.js'
import { admin, ADMIN_USAGE } from './admin.js'
import { check } from './check.js'
import { DEMO_USAGE, demoCommand } from './demo.js'
import { EXPLAIN_USAGE, explainCommand } from './explain.js'
import { serve } from './serve.js'

const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version

const USAGE = `Usage: gslb <command> [options]      (gslb <command> --help for its options)

Commands:
  serve    Run the DNS server, and the redirect service and admin API when configured
  check    Validate the configuration and zones; print file:line:col errors; exit 1 on error
  admin    Show or change member state on a running server, reload it
  explain  Why a client gets its DNS answer or redirect
  demo     Rehearse failover locally: simulated sites, faults, the dashboard, scenario files

Options:
  -h, --help      show help
  -V, --version   show the version
`

type Options = NonNullable<ParseArgsConfig['options']>
const CONFIG: Options = { config: { type: 'string', short: 'c', default: 'gslb.yaml' } }
const LOG: Options = { 'log-level': { type: 'string' }, 'log-format': { type: 'string' } }

const COMMANDS: Record<string, { options: Options, usage: string }> = {
  serve: {
    options: { ...CONFIG, ...LOG, dns: { type: 'string', multiple: true }, http: { type: 'string' }, admin: { type: 'string' }, workers: { type: 'string' }, 'no-watch': { type: 'boolean' } },
    usage: `Usage: gslb serve [-c gslb.yaml] [options]

Loads the configuration, runs the first round of health checks, then answers DNS (and redirects and
the admin API when configured). SIGHUP reloads, as does an edit of gslb.yaml or a zone file;
SIGTERM and SIGINT stop within shutdown.timeout. This is the production command.

Options:
  -c, --config FILE    configuration file (default: gslb.yaml)
      --dns ADDR:PORT  DNS listen address, repeatable; replaces listen.dns from the file
      --http ADDR:PORT     HTTP redirect listen address; replaces listen.http
      --admin ADDR:PORT    admin API address; replaces listen.admin
      --workers N      processes sharing the listeners and one admin state (default: 1)
      --no-watch       do not reload when gslb.yaml or a zone file changes
      --log-level L    fatal|error|warn|info|debug|trace (default: from the file, else info)
      --log-format F   json or pretty (default: pretty on a terminal, json otherwise)
`,
  },
  check: {
    options: { ...CONFIG, dns: { type: 'string', multiple: true }, http: { type: 'string' }, admin: { type: 'string' } },
    usage: `Usage: gslb check [-c gslb.yaml]

Runs the whole configuration pipeline (gslb.yaml, every zone, the geo database) without starting
anything. Prints file:line:col: field: message [CODE] per problem and exits 1 on any, else 0.
`,
  },
  admin: {
    options: { ...CONFIG, admin: { type: 'string' }, for: { type: 'string' }, note: { type: 'string' }, json: { type: 'boolean' } },
    usage: ADMIN_USAGE,
  },
  demo: {
    options: { ...CONFIG, ...LOG, dns: { type: 'string', multiple: true }, http: { type: 'string' }, admin: { type: 'string' }, delay: { type: 'string' }, period: { type: 'string' }, traffic: { type: 'string' } },
    usage: DEMO_USAGE,
  },
  explain: {
    options: { ...CONFIG, admin: { type: 'string' }, client: { type: 'string' }, ecs: { type: 'string' }, url: { type: 'string' }, json: { type: 'boolean' }, offline: { type: 'boolean' } },
    usage: EXPLAIN_USAGE,
  },
}

const usage = (text: string, message: string): number => {
  process.stderr.write(`gslb: ${message}\n\n${text}`)
  return 2
}

async function main (argv: string[]): Promise<number> {
  const command = argv[0]
  if (command === undefined) return usage(USAGE, 'a command is needed')
  if (command === '--version' || command === '-V') { process.stdout.write(`gslb ${VERSION}\n`); return 0 }
  if (command === '--help' || command === '-h' || command === 'help') { process.stdout.write(USAGE); return 0 }
  const def = COMMANDS[command]
  if (def === undefined) {
    const guess = closest(command, Object.keys(COMMANDS))
    return usage(USAGE, `unknown command "${command}"${guess === undefined ? '' : `; did you mean "${guess}"?`}`)
  }
  let parsed
  try {
    parsed = parseArgs({ args: argv.slice(1), allowPositionals: true, options: { ...def.options, help: { type: 'boolean', short: 'h' } } })
  } catch (err) {
    const message = (err as Error).message
    const flag = /^Unknown option '(--?[\w-]+)'/.exec(message)?.[1]
    if (flag === undefined) return usage(def.usage, message)
    const guess = closest(flag, Object.keys(def.options).map(n => `--${n}`))
    return usage(def.usage, `unknown option ${flag} for ${command}${guess === undefined ? '' : `; did you mean ${guess}?`}`)
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>
  if (values.help === true) { process.stdout.write(def.usage); return 0 }
  const str = (k: string): string | undefined => typeof values[k] === 'string' ? values[k] as string : undefined
  const config = str('config') ?? 'gslb.yaml'
  const args = parsed.positionals
  switch (command) {
    case 'serve': {
      const workers = str('workers') === undefined ? 1 : Number(str('workers'))
      if (!Number.isInteger(workers) || workers < 1 || workers > 64) return usage(def.usage, `--workers must be an integer from 1 to 64: got "${str('workers') ?? ''}"`)
      const format = str('log-format')
      if (format !== undefined && format !== 'json' && format !== 'pretty') return usage(def.usage, `--log-format must be json or pretty: got "${format}"`)
      if (args.length > 0) return usage(def.usage, `serve takes no arguments: got "${args.join(' ')}"`)
      return await serve({
        config, dns: values.dns as string[] | undefined, http: str('http'), admin: str('admin'), logLevel: str('log-level'),
        logFormat: format ?? (process.stdout.isTTY ? 'pretty' : 'json'), workers, watch: values['no-watch'] !== true,
      })
    }
    case 'check':
      if (args.length > 0) return usage(def.usage, `check takes no arguments: got "${args.join(' ')}"`)
      return await check({ config, dns: values.dns as string[] | undefined, http: str('http'), admin: str('admin'), logLevel: undefined })
    case 'demo': {
      const format = str('log-format')
      if (format !== undefined && format !== 'json' && format !== 'pretty') return usage(def.usage, `--log-format must be json or pretty: got "${format}"`)
      const traffic = str('traffic') === undefined ? 20 : Number(str('traffic'))
      if (!Number.isInteger(traffic) || traffic < 0 || traffic > 1000) return usage(def.usage, `--traffic must be an integer from 0 to 1000: got "${str('traffic') ?? ''}"`)
      return await demoCommand({
        config, dns: values.dns as string[] | undefined, http: str('http'), admin: str('admin'), logLevel: str('log-level'),
        logFormat: format ?? (process.stdout.isTTY ? 'pretty' : 'json'), args, delay: str('delay'), period: str('period'), traffic,
      })
    }
    case 'admin':
      return await admin({ config, admin: str('admin'), args, duration: str('for'), note: str('note'), json: values.json === true })
    default:
      return await explainCommand({ config, admin: str('admin'), args, client: str('client'), ecs: str('ecs'), url: str('url'), json: values.json === true, offline: values.offline === true })
  }
}

main(process.argv.slice(2)).then(code => {
  // serve keeps running on success; any failure ends the process (workers included).
  if (code !== 0) process.exit(code)
}, err => {
  process.stderr.write(`gslb: ${(err as Error).message}\n`)
  process.exitCode = 1
})
