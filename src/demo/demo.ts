/**
 * `gslb demo`: three simulated sites (farms of backends on loopback addresses, src/demo/farm.ts)
 * and gslb in front of them with the bundled configuration, the dashboard on the admin listener,
 * and faults to inject. The same code runs scenario files headless (src/demo/scenario.ts).
 * `gslb serve` stays the production command. docs/demo.md.
 */
import { Gslb } from '../app.js'
import { loadConfig, type LoadOptions } from '../config/load.js'
import type { AdminStore } from '../core/admin-state.js'
import type { Logger } from '../log.js'
import type { BoundAddress } from '../net/address.js'
import { backendSpecs, Farm } from './farm.js'
import { registerDemoRoutes } from './routes.js'
import { clientPresets } from '../dashboard/presets.js'
import { parseCidr, type Cidr } from '../net/cidr.js'
import { DemoTraffic } from './traffic.js'

export interface DemoOptions extends LoadOptions {
  readonly config: string
  readonly log: Logger
  /** Where admin state is kept. @default the configuration's state file */
  readonly adminStore?: () => AdminStore
  /** Reload when gslb.yaml or a zone file changes. @default false */
  readonly watch?: boolean
  /** Simulated users: DNS queries a second from a client near each site (src/demo/traffic.ts). @default 0 */
  readonly traffic?: number
}

export interface Demo {
  readonly app: Gslb
  readonly farm: Farm
  readonly bound: readonly BoundAddress[]
  close: () => Promise<void>
}

export async function startDemo (opts: DemoOptions): Promise<Demo> {
  const config = await loadConfig(opts.config, opts)
  const farm = new Farm(backendSpecs(config))
  await farm.start()
  let app: Gslb | undefined
  try {
    const log = opts.log
    app = await Gslb.load(opts.config, log, {
      ...opts,
      ...(opts.adminStore === undefined ? {} : { adminStore: opts.adminStore }),
      adminRoutes: f => registerDemoRoutes(f, farm, log.child({ mod: 'demo' })),
    })
    const bound = await app.start()
    if (opts.watch === true) app.watchFiles()
    const running = app
    const traffic = simulatedUsers(app, bound, opts.traffic ?? 0)
    traffic.start()
    return {
      app: running,
      farm,
      bound,
      close: async () => { traffic.close(); await running.close(); await farm.close() },
    }
  } catch (err) {
    await farm.close()
    throw err
  }
}

/** Users near each site asking for the first pool-backed name and the first redirect route. */
function simulatedUsers (app: Gslb, bound: readonly BoundAddress[], perSecond: number): DemoTraffic {
  const config = app.config
  const udp = bound.find(b => b.proto === 'udp')
  const route = config.redirects[0]
  const clients = clientPresets(app.core.snapshot).map(p => parseCidr(p.ecs)).filter((c): c is Cidr => typeof c !== 'string')
  return new DemoTraffic({
    dns: udp === undefined ? undefined : { host: udp.host, port: udp.port },
    http: config.httpListen === undefined ? undefined : { host: config.httpListen.host, port: config.httpListen.port },
    name: config.zones.flatMap(z => z.owners.filter(o => o.pool !== undefined).map(o => o.name))[0],
    url: route === undefined ? undefined : `http://${(route.hosts[0] ?? 'localhost').replace(/^\*\./, 'www.')}${route.path}file.iso`,
    clients,
    perSecond,
  })
}
