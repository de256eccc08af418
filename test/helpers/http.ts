/** HTTP over a raw socket, for requests Node's client and inject() would refuse or rewrite. */
import { connect } from 'node:net'

/** Sends `request` as it is (UTF-8) on a new connection and resolves with everything read until the server closes it. */
export function rawExchange (port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' })
    let data = ''
    s.on('data', d => { data += d.toString('latin1') })
    s.on('close', () => resolve(data))
    s.on('error', reject)
    s.end(request)
  })
}
