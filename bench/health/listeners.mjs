// Local HTTP listeners for the health benchmark: PORTS servers on 0.0.0.0 answering 200 "ok", so
// members at 127.0.1.x:port are all distinct targets. Run pinned to its own core; prints "ready".
import { createServer } from 'node:http'

const base = Number(process.argv[2] ?? 20000)
const count = Number(process.argv[3] ?? 100)
let ready = 0
for (let i = 0; i < count; i++) {
  const s = createServer((_req, res) => { res.writeHead(200).end('ok') })
  s.keepAliveTimeout = 1000
  s.listen(base + i, '0.0.0.0', () => { if (++ready === count) console.log('ready') })
}
