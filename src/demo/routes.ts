/**
 * The demo's fault API on the admin listener (only under `gslb demo`):
 *   GET /v1/demo                  the simulated sites and backends, each with its fault
 *   PUT /v1/demo/faults/:target   {fault: up|down|slow|error|flap, delay?: "1.5s", period?: "3s"}
 * `target` is a site (every backend in it) or a backend's name. Used by the dashboard's fault
 * buttons, `gslb demo fault`, and scenario files run against a running demo.
 */
import type { FastifyInstance } from 'fastify'
import { parseDuration } from '../config/source.js'
import { ErrorCode, GslbError } from '../errors.js'
import type { Logger } from '../log.js'
import { FAULT_KINDS } from './backend.js'
import { parseFault, type Farm } from './farm.js'

interface FaultBody { fault: string, delay?: string, period?: string }

const FAULT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['fault'],
  properties: {
    fault: { type: 'string', enum: FAULT_KINDS },
    delay: { type: 'string', description: 'slow: how long each answer waits (a duration)' },
    period: { type: 'string', description: 'flap: how long each phase lasts (a duration)' },
  },
}

export function registerDemoRoutes (f: FastifyInstance, farm: Farm, log: Logger): void {
  f.get('/v1/demo', async () => ({ sites: farm.sites, backends: farm.state() }))

  f.put<{ Params: { target: string }, Body: FaultBody }>('/v1/demo/faults/:target', { schema: { body: FAULT_SCHEMA } }, async (req, reply) => {
    const { fault, delay, period } = req.body
    const ms = (text: string | undefined, what: string): number | undefined => {
      if (text === undefined) return undefined
      const v = parseDuration(text)
      if (v === undefined) throw new GslbError(ErrorCode.BAD_REQUEST, `${what} must be a duration (500ms, 2s, 1.5m): got "${text}"`)
      return v
    }
    let parsed
    try {
      parsed = parseFault(fault, ms(delay, 'delay'), ms(period, 'period'))
      if (typeof parsed === 'string') throw new GslbError(ErrorCode.BAD_REQUEST, parsed)
      const chosen = await farm.inject(req.params.target, parsed)
      log.info({ target: req.params.target, fault: parsed, backends: chosen.map(b => b.spec.name) }, 'demo fault')
      return { target: req.params.target, fault: parsed, backends: farm.state().filter(b => chosen.some(c => c.spec.name === b.name)) }
    } catch (err) {
      if (!(err instanceof GslbError)) throw err
      return await reply.code(err.code === ErrorCode.NO_MEMBER ? 404 : 400).send({ error: err.message, code: err.code })
    }
  })
}
