/** A port free for both TCP and UDP on `host` right now (for a DNS listener on an unused port). */
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'

export async function freePort (host = '127.0.0.1'): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const tcp = createServer()
    await new Promise<void>((resolve, reject) => { tcp.once('error', reject); tcp.listen(0, host, resolve) })
    const port = (tcp.address() as { port: number }).port
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4')
    const ok = await new Promise<boolean>(resolve => {
      udp.once('error', () => resolve(false))
      udp.bind(port, host, () => resolve(true))
    })
    udp.close()
    await new Promise<void>(resolve => tcp.close(() => resolve()))
    if (ok) return port
  }
  throw new Error(`no port free for both TCP and UDP on ${host}`)
}
