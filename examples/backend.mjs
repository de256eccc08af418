#!/usr/bin/env node
// A tiny HTTP backend for trying gslb locally: answers 200 "ok" on every path, including the
// /healthz the bundled gslb.yaml checks. Usage: node examples/backend.mjs [ADDRESS] [PORT]
// (default 127.0.0.1 8080). The bundled gslb.yaml has four: 127.0.1.1 and 127.0.1.2 (site fra),
// 127.0.2.1 (nyc), 127.0.3.1 (tok). Stop one to watch gslb take it out of the answers.
import { createServer } from 'node:http'

const address = process.argv[2] ?? '127.0.0.1'
const port = Number(process.argv[3] ?? 8080)
createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok from ${address}:${port}\n`)
}).listen(port, address, () => console.log(`backend listening on http://${address}:${port}`))
