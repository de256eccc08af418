/** A real redis-server (Debian's package) on a free loopback port, started and stopped by PID. */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { freePort } from './process.js'

export const REDIS_SERVER = '/usr/bin/redis-server'
export const redisMissing = existsSync(REDIS_SERVER) ? false : `${REDIS_SERVER} is not installed (apt-get install redis-server)`

export class RedisServer {
  proc: ChildProcess | undefined
  constructor (readonly port: number) {}

  static async start (port?: number): Promise<RedisServer> {
    const r = new RedisServer(port ?? await freePort())
    await r.start()
    return r
  }

  get url (): string { return `redis://127.0.0.1:${this.port}` }

  /** Start (again, on the same port): no persistence, so a restart comes back empty. */
  async start (): Promise<void> {
    const proc = spawn(REDIS_SERVER, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.proc = proc
    let out = ''
    await new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('Ready to accept connections')) resolve() })
      proc.once('exit', code => reject(new Error(`redis-server exited ${String(code)}: ${out}`)))
    })
  }

  async stop (): Promise<void> {
    const proc = this.proc
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    proc.kill('SIGKILL')
    await once(proc, 'exit')
  }
}
