/** A probe failure as a short detail an operator can act on: "connect ECONNREFUSED", "timeout after 1000 ms". */
export function describeError (err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return String(signal.reason instanceof Error ? signal.reason.message : signal.reason ?? 'aborted')
  const e = err as { code?: string, message?: string, syscall?: string }
  if (e.code !== undefined && e.syscall !== undefined) return `${e.syscall} ${e.code}`
  return e.code ?? e.message ?? String(err)
}
