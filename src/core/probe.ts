/**
 * What a health probe is, as the core sees it: a function of a target and an abort signal that
 * resolves with ok or not and a detail a human can act on. The probes themselves (tcp, http, dns,
 * agent, static) live in src/probes/ and are injected, so the core needs no network library.
 */

export interface ProbeTarget {
  readonly address: string
  readonly port: number
}

export interface ProbeResult {
  readonly ok: boolean
  readonly detail: string
  /** A weight reported by the backend: absolute (http weight_from_body) or a percentage (agent). */
  readonly weight?: { readonly absolute: number } | { readonly percent: number }
  /** Admin state reported by an agent check (HAProxy agent-check words). */
  readonly agentState?: 'ready' | 'drain' | 'maint'
}

/** Never rejects: a failure is a result. The caller owns the timeout through `signal`. */
export type Probe = (target: ProbeTarget, signal: AbortSignal) => Promise<ProbeResult>
