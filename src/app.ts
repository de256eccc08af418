/**
 * Composition: config → compiled answers → listeners. Owns the current AnswerIndex and swaps it
 * whole on reload; a reload that fails leaves the running configuration serving.
 */
import type { GslbConfig } from './config/model.js'
import { loadConfig, type LoadOptions } from './config/load.js'
import { compileAnswers, type AnswerIndex } from './dns/answer-index.js'
import { DnsServer, type BoundAddress } from './dns/server.js'
import type { Logger } from './log.js'

export class Gslb {
  #config: GslbConfig
  #index: AnswerIndex
  readonly dns: DnsServer
  readonly #file: string
  readonly #loadOptions: LoadOptions
  readonly #log: Logger

  private constructor (file: string, loadOptions: LoadOptions, config: GslbConfig, log: Logger) {
    this.#file = file
    this.#loadOptions = loadOptions
    this.#config = config
    this.#log = log
    this.#index = compileAnswers(config.zones)
    this.dns = new DnsServer({ get: () => this.#index }, config.dns, log.child({ mod: 'dns' }))
  }

  /** Load and compile; throws ConfigError with every problem found. */
  static async load (file: string, log: Logger, loadOptions: LoadOptions = {}): Promise<Gslb> {
    return new Gslb(file, loadOptions, await loadConfig(file, loadOptions), log)
  }

  get config (): GslbConfig { return this.#config }

  async start (): Promise<BoundAddress[]> {
    const bound = await this.dns.start()
    this.#log.info({ zones: this.#config.zones.map(z => ({ zone: z.name, owners: z.owners.length, records: countRecords(z) })) }, 'zones loaded')
    return bound
  }

  /** Re-read the configuration; on error keep the current one. Listener changes need a restart. */
  async reload (): Promise<boolean> {
    try {
      const next = await loadConfig(this.#file, this.#loadOptions)
      this.#index = compileAnswers(next.zones)
      this.#config = next
      this.#log.info({ zones: next.zones.length }, 'configuration reloaded')
      return true
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'reload failed; the previous configuration keeps serving')
      return false
    }
  }

  async close (): Promise<void> {
    await this.dns.close()
  }
}

function countRecords (z: GslbConfig['zones'][number]): number {
  return z.owners.reduce((n, o) => n + o.rrsets.reduce((m, s) => m + s.rdata.length, 0), 0)
}
