/**
 * The DNS listeners: one UDP socket and one TCP server per listen address, each answering with
 * respond() over the index its source currently holds. Every configured address is bound
 * explicitly (wildcards are expanded to each interface address), so a reply always leaves from
 * the address the query was sent to. Nothing a client sends can crash the process: the responder
 * never throws on input, and a bug while answering becomes SERVFAIL plus one log line.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { createServer, isIPv6, type Server, type Socket } from 'node:net'
import { networkInterfaces } from 'node:os'
import type { DnsOptions, ListenAddress } from '../config/model.js'
import type { Logger } from '../log.js'
import { clientPrefix, hostPort, type BoundAddress } from '../net/address.js'
import { RCODE_NAME, TYPE_NAME } from './constants.js'
import { readName } from './decode.js'
import { SelectionState } from '../core/select.js'
import { respond, servfail, type ExplainSink, type ResponderOptions, type Serving } from './responder.js'
import { DnsStats, newOutcome } from './stats.js'
import { TcpTable } from './tcp-table.js'
import { RateLimiter, slipped, Verdict, type RrlCounts } from './rrl.js'

export interface ServingSource {
  /** What to answer from; read once per query. */
  get: () => Serving
}

export interface DnsCounters {
  queries: number
  dropped: number
  /** Responses by rcode (low 4 bits). */
  rcodes: number[]
  tcpConnections: number
  /** Connections closed to make room at max_tcp_connections. */
  tcpEvicted: number
  /** Connections closed because their client network reached max_tcp_per_client. */
  tcpClientCapped: number
  tcpTimeouts: number
  errors: number
  /** Responses rate limited over UDP (dns/rrl.ts): dropped, sent truncated, or only counted (log_only). */
  readonly rrl: RrlCounts
}

export class DnsServer {
  readonly #source: ServingSource
  readonly #selection = new SelectionState()
  readonly #opts: DnsOptions
  readonly #responder: ResponderOptions
  readonly #log: Logger
  readonly #udp: UdpSocket[] = []
  readonly #tcp: Server[] = []
  readonly #conns: TcpTable<TcpConnection>
  /** Per-query detail for metrics (when DnsServerOptions.stats is on). */
  readonly stats = new DnsStats()
  readonly #outcome = newOutcome()
  readonly #countDetail: boolean
  readonly counters: DnsCounters
  #lastErrorLog = 0
  readonly #rrl: RateLimiter

  /** `processes`: how many processes share the sockets (--workers); each rate limits at its part. */
  constructor (source: ServingSource, opts: DnsOptions, log: Logger, countDetail = true, processes = 1) {
    this.#source = source
    this.#countDetail = countDetail
    this.#rrl = new RateLimiter(opts.rateLimit, processes, log.child({ mod: 'rrl' }))
    this.counters = { queries: 0, dropped: 0, rcodes: new Array<number>(16).fill(0), tcpConnections: 0, tcpEvicted: 0, tcpClientCapped: 0, tcpTimeouts: 0, errors: 0, rrl: this.#rrl.counts }
    this.#opts = opts
    this.#responder = { udpPayloadSize: opts.udpPayloadSize }
    this.#log = log
    this.#conns = new TcpTable(opts.maxTcpConnections, opts.maxTcpPerClient)
  }

  /** Bind every listener. UDP and TCP share a port, also when port 0 asks for a free one. */
  async start (): Promise<BoundAddress[]> {
    const bound: BoundAddress[] = []
    for (const want of expandWildcards(this.#opts.listen, this.#log)) {
      // With port 0 the kernel picks a port free for UDP, which may be taken for TCP: try again.
      for (let attempt = 1; ; attempt++) {
        const udp = await this.#bindUdp(want)
        const port = udp.address().port
        try {
          const tcp = await this.#bindTcp({ host: want.host, port })
          bound.push({ proto: 'udp', host: want.host, port }, { proto: 'tcp', host: want.host, port: (tcp.address() as { port: number }).port })
          break
        } catch (err) {
          const retry = want.port === 0 && (err as { code?: string }).code === 'EADDRINUSE' && attempt < 20
          this.#udp.splice(this.#udp.indexOf(udp), 1)
          await new Promise<void>(resolve => udp.close(() => resolve()))
          if (!retry) throw err
        }
      }
    }
    this.#log.info({ listeners: bound.map(b => `${b.proto}://${hostPort(b.host, b.port)}`) }, 'dns listening')
    return bound
  }

  /**
   * Stop: UDP sockets close at once; TCP listeners stop accepting; an idle TCP connection is
   * closed, one holding a partly received message may complete it (bounded by tcp_io_timeout) and
   * is closed after its answer; whatever is left after `timeoutMs` is destroyed.
   */
  async close (timeoutMs: number): Promise<void> {
    const hard = setTimeout(() => { for (const c of this.#conns) c.socket.destroy() }, timeoutMs)
    const closed = Promise.all([
      ...this.#udp.map(s => new Promise<void>(resolve => s.close(() => resolve()))),
      ...this.#tcp.map(s => new Promise<void>(resolve => s.close(() => resolve()))),
    ])
    for (const c of this.#conns) c.finish()
    await closed
    clearTimeout(hard)
  }

  /**
   * Answer `msg` as if `client` had sent it over UDP, collecting why into `sink` (gslb explain).
   * Uses this server's own rotation state; counts nothing.
   */
  explain (msg: Buffer, client: string, sink: ExplainSink): Buffer | undefined {
    return respond(msg, false, this.#source.get(), this.#responder, undefined, client, this.#selection, sink)
  }

  /** Answer one message; never throws. */
  answer (msg: Buffer, tcp: boolean, client: string): Buffer | undefined {
    this.counters.queries++
    let out: Buffer | undefined
    const serving = this.#source.get()
    const limits = tcp ? undefined : serving.protocol?.rateLimit
    const o = this.#outcome
    try {
      out = respond(msg, tcp, serving, this.#responder, o, client, this.#selection)
    } catch (err) {
      this.counters.errors++
      this.#logError(err, 'answer failed; sent SERVFAIL')
      out = servfail(msg, tcp)
      o.rcode = 2; o.pool = -1; o.truncated = false; o.limitAs = undefined
    }
    if (out === undefined) { this.counters.dropped++; return undefined }
    if (limits !== undefined) {
      this.#rrl.configure(limits)
      const verdict = this.#rrl.check(client, o)
      if (verdict === Verdict.DROP) return undefined
      if (verdict === Verdict.SLIP) out = slipped(out)
    }
    const rcode = (out[(tcp ? 2 : 0) + 3] as number) & 0xf
    ;(this.counters.rcodes[rcode] as number)++
    if (this.#countDetail) this.stats.count(tcp, o)
    if (this.#opts.queryLog) this.#logQuery(msg, out, tcp, client)
    return out
  }

  #bindUdp (addr: ListenAddress): Promise<UdpSocket> {
    return new Promise((resolve, reject) => {
      const v6 = isIPv6(addr.host)
      const sock = createSocket({ type: v6 ? 'udp6' : 'udp4', ...(v6 ? { ipv6Only: true } : {}), recvBufferSize: 1 << 22, sendBufferSize: 1 << 22 })
      sock.once('error', reject)
      sock.on('message', (msg, rinfo) => {
        const out = this.answer(msg, false, rinfo.address)
        if (out !== undefined) sock.send(out, rinfo.port, rinfo.address)
      })
      sock.bind({ address: addr.host, port: addr.port }, () => {
        sock.off('error', reject)
        sock.on('error', err => this.#logError(err, 'udp socket error'))
        this.#udp.push(sock)
        resolve(sock)
      })
    })
  }

  #bindTcp (addr: ListenAddress): Promise<Server> {
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true }, socket => this.#accept(socket))
      server.once('error', reject)
      server.listen({ host: addr.host, port: addr.port, ipv6Only: true }, () => {
        server.off('error', reject)
        server.on('error', err => this.#logError(err, 'tcp server error'))
        this.#tcp.push(server)
        resolve(server)
      })
    })
  }

  #accept (socket: Socket): void {
    const prefix = clientPrefix(socket.remoteAddress ?? '')
    const room = this.#conns.victimFor(prefix)
    if (room !== undefined) {
      this.#conns.delete(room.victim)
      room.victim.socket.destroy()
      if (room.cap === 'client') this.counters.tcpClientCapped++
      else this.counters.tcpEvicted++
    }
    this.counters.tcpConnections++
    const conn = new TcpConnection(socket, prefix, this, this.#opts)
    this.#conns.add(conn)
    socket.once('close', () => this.#conns.delete(conn))
  }

  countTimeout (): void { this.counters.tcpTimeouts++ }

  /** TCP connections open now. */
  get tcpOpen (): number { return this.#conns.size }

  /** Rate limiting buckets held now. */
  get rrlTableSize (): number { return this.#rrl.size }

  #logQuery (msg: Buffer, out: Buffer, tcp: boolean, client: string): void {
    let qname = '?'
    let qtype = 0
    try {
      const [name, end] = readName(msg, 12)
      qname = name
      qtype = msg.readUInt16BE(end)
    } catch { /* malformed: logged as "?" */ }
    const rcode = (out[(tcp ? 2 : 0) + 3] as number) & 0xf
    this.#log.info({ client, proto: tcp ? 'tcp' : 'udp', qname, qtype: TYPE_NAME[qtype] ?? qtype, rcode: RCODE_NAME[rcode] ?? rcode }, 'query')
  }

  /** At most one error line per second, so a flood of bad input cannot flood the log. */
  #logError (err: unknown, msg: string): void {
    const now = Date.now()
    if (now - this.#lastErrorLog < 1000) return
    this.#lastErrorLog = now
    this.#log.error({ err }, msg)
  }
}

/**
 * One TCP client: length-prefixed messages, pipelined, answered in order. An idle timeout after the
 * last answer, and a shorter I/O timeout for a partial message that does not complete (slowloris).
 */
class TcpConnection {
  readonly socket: Socket
  readonly prefix: string
  /** When it opened or last completed a message: the eviction order (tcp-table.ts). */
  lastProgressAt = Date.now()
  readonly #server: DnsServer
  readonly #ioTimeoutMs: number
  #pending: Buffer | undefined
  #ioTimer: NodeJS.Timeout | undefined
  #finishing = false

  constructor (socket: Socket, prefix: string, server: DnsServer, opts: DnsOptions) {
    this.socket = socket
    this.prefix = prefix
    this.#server = server
    this.#ioTimeoutMs = opts.tcpIoTimeoutMs
    socket.setTimeout(opts.tcpIdleTimeoutMs)
    socket.on('timeout', () => { server.countTimeout(); socket.destroy() })
    socket.on('data', chunk => this.#onData(chunk))
    socket.on('drain', () => socket.resume())
    socket.on('error', () => { /* resets and EPIPE from clients are normal */ })
    socket.on('close', () => clearTimeout(this.#ioTimer))
  }

  /** The server is stopping: close once no message is partly received (answers already written are sent first). */
  finish (): void {
    this.#finishing = true
    if (this.#pending === undefined) this.socket.destroySoon()
  }

  #onData (chunk: Buffer): void {
    let buf = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk])
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0)
      if (len === 0) { this.socket.destroy(); return }
      if (buf.length < 2 + len) break
      const out = this.#server.answer(buf.subarray(2, 2 + len), true, this.socket.remoteAddress ?? '?')
      this.lastProgressAt = Date.now()
      buf = buf.subarray(2 + len)
      if (out !== undefined && !this.socket.write(out)) this.socket.pause()
    }
    if (buf.length === 0) {
      this.#pending = undefined
      clearTimeout(this.#ioTimer)
      this.#ioTimer = undefined
      if (this.#finishing) this.socket.destroySoon()
    } else {
      this.#pending = Buffer.from(buf)
      this.#ioTimer ??= setTimeout(() => { this.#server.countTimeout(); this.socket.destroy() }, this.#ioTimeoutMs)
    }
  }
}

/** 0.0.0.0 and :: become every local address of that family (link-local IPv6 excluded). */
function expandWildcards (listen: readonly ListenAddress[], log: Logger): ListenAddress[] {
  const out: ListenAddress[] = []
  for (const a of listen) {
    if (a.host !== '0.0.0.0' && a.host !== '::') { out.push(a); continue }
    const family = a.host === '::' ? 'IPv6' : 'IPv4'
    const addrs = Object.values(networkInterfaces()).flat()
      .filter(i => i !== undefined && i.family === family && !i.address.startsWith('fe80'))
      .map(i => (i as { address: string }).address)
    log.info({ wildcard: a.host, addresses: addrs }, 'binding each local address so replies leave from the address queried')
    for (const host of addrs) out.push({ host, port: a.port })
  }
  return out
}
