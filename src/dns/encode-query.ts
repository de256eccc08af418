/** A DNS query on the wire, for tools (`gslb explain`): one question, EDNS, and an optional ECS option. */
import { TYPE } from './constants.js'

export interface QuerySpec {
  readonly name: string
  readonly type: number
  /** ECS (RFC 7871): family 1 (IPv4) or 2 (IPv6), source prefix length, the address bytes. */
  readonly ecs?: { readonly family: 1 | 2, readonly source: number, readonly address: Uint8Array }
}

export function encodeQuery (q: QuerySpec, id = 0x4745): Buffer {
  const labels = q.name.replace(/\.$/, '').split('.').filter(l => l !== '')
  const name = Buffer.concat([...labels.map(l => Buffer.concat([Buffer.from([Buffer.byteLength(l, 'latin1')]), Buffer.from(l, 'latin1')])), Buffer.from([0])])
  const header = Buffer.alloc(12)
  header.writeUInt16BE(id, 0)
  header.writeUInt16BE(1, 4) // QDCOUNT
  header.writeUInt16BE(1, 10) // ARCOUNT: OPT
  const question = Buffer.alloc(4)
  question.writeUInt16BE(q.type, 0)
  question.writeUInt16BE(1, 2)
  let options = Buffer.alloc(0)
  if (q.ecs !== undefined) {
    const bytes = Math.ceil(q.ecs.source / 8)
    options = Buffer.alloc(8 + bytes)
    options.writeUInt16BE(8, 0)
    options.writeUInt16BE(4 + bytes, 2)
    options.writeUInt16BE(q.ecs.family, 4)
    options[6] = q.ecs.source
    Buffer.from(q.ecs.address).copy(options, 8, 0, bytes)
  }
  const opt = Buffer.alloc(11)
  opt.writeUInt16BE(TYPE.OPT, 1)
  opt.writeUInt16BE(1232, 3)
  opt.writeUInt16BE(options.length, 9)
  return Buffer.concat([header, name, question, opt, options])
}
