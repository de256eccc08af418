/**
 * fast-check parameters shared by the property tests: a fixed seed, so every CI run checks the
 * same inputs and a failure replays; GSLB_FUZZ_SEED and GSLB_FUZZ_RUNS explore further (another
 * seed, more runs), and GSLB_FUZZ_PATH with the seed replays one failure exactly as fast-check
 * reported it (docs/testing.md).
 */
import type { Parameters } from 'fast-check'

const DEFAULT_SEED = 0x15f0221

function envInt (name: string): number | undefined {
  const text = process.env[name]
  if (text === undefined || text === '') return undefined
  const n = Number(text)
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer: got ${JSON.stringify(text)}`)
  return n
}

export const FUZZ_SEED = envInt('GSLB_FUZZ_SEED') ?? DEFAULT_SEED
const RUNS = envInt('GSLB_FUZZ_RUNS')
const PATH = process.env.GSLB_FUZZ_PATH

/** Parameters for one fc.assert: `numRuns` unless GSLB_FUZZ_RUNS replaces it. */
export function fuzzParams<T> (numRuns: number): Parameters<T> {
  return { seed: FUZZ_SEED, numRuns: RUNS ?? numRuns, includeErrorInReport: true, ...(PATH === undefined || PATH === '' ? {} : { path: PATH }) }
}

/** Whether a run is a whole default-sized search (not a replay, not cut short), so coverage can be asserted on it. */
export function fullSearch (params: { readonly path?: string, readonly numRuns?: number }): boolean {
  return params.path === undefined && (params.numRuns ?? 0) >= 1000
}
