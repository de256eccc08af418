/** The `gslb` command as a child process: run it, serve with it, stop it by PID; and free ports. */
import assert from 'node:assert/strict'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'

export const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.js')

/** Run `gslb ARGS` to its end (killed after `timeoutMs`: a hung command fails its test, not the run). */
export function run (args: string[], cwd: string, timeoutMs = 120_000): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    execFile(process.execPath, [MAIN, ...args], { cwd, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr })
    })
  })
}

export interface Served {
  readonly proc: ChildProcess
  /** Every stdout chunk so far (JSON log lines). */
  readonly log: string[]
  /** Resolves when `times` log lines containing `text` have been written (now or later). */
  logged: (text: string, limitMs?: number, times?: number) => Promise<void>
}

/**
 * Start `gslb serve` and wait until it serves: the "zones loaded" line of a single process, or the
 * primary's "workers serving" line with --workers.
 */
export async function serve (cwd: string, args: string[], main = MAIN): Promise<Served> {
  const proc = spawn(process.execPath, [main, 'serve', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  const log: string[] = []
  const waiters: Array<() => void> = []
  proc.stdout?.on('data', (d: Buffer) => { log.push(d.toString()); for (const w of waiters) w() })
  proc.stderr?.on('data', (d: Buffer) => { log.push(d.toString()) })
  const logged = (text: string, limitMs = 10_000, times = 1): Promise<void> => new Promise((resolve, reject) => {
    const check = (): void => {
      if (log.join('').split(text).length - 1 < times) return
      clearTimeout(timer)
      waiters.splice(waiters.indexOf(check), 1)
      resolve()
    }
    const timer = setTimeout(() => reject(new Error(`no "${text}" in the log within ${limitMs} ms: ${log.join('')}`)), limitMs)
    waiters.push(check)
    check()
  })
  const w = args.indexOf('--workers')
  const workers = w !== -1 && Number(args[w + 1]) > 1
  const exited = once(proc, 'exit').then(([code]) => { throw new Error(`gslb serve exited ${String(code)}: ${log.join('')}`) })
  await Promise.race([logged(workers ? '"workers serving' : '"zones loaded"'), exited])
  exited.catch(() => {})
  return { proc, log, logged }
}

/** SIGTERM, and wait for the exit. */
export async function stop (proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  proc.kill('SIGTERM')
  await once(proc, 'exit')
}

/** A port free for both TCP and UDP on 127.0.0.1 (the server's own helper, src/net/free-port.ts). */
export { freePort } from '../../src/net/free-port.js'

/** Assert that `proc` exits within `limitMs`; resolves with its exit code and the time it took. */
export async function exitsWithin (proc: ChildProcess, limitMs: number): Promise<{ code: number | null, ms: number }> {
  const start = Date.now()
  if (proc.exitCode !== null) return { code: proc.exitCode, ms: 0 }
  const timer = setTimeout(() => proc.kill('SIGKILL'), limitMs)
  const [code, signal] = await once(proc, 'exit') as [number | null, string | null]
  clearTimeout(timer)
  assert.notEqual(signal, 'SIGKILL', `still running ${limitMs} ms after the stop began`)
  return { code, ms: Date.now() - start }
}
