/** DNS numbers used on the wire (RFC 1035, 2136, 6891, 7871 and the IANA registries). */

export const TYPE = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, HINFO: 13, MX: 15, TXT: 16, AAAA: 28, SRV: 33,
  OPT: 41, DS: 43, TKEY: 249, TSIG: 250, IXFR: 251, AXFR: 252, MAILB: 253, MAILA: 254, ANY: 255, CAA: 257,
} as const

export const TYPE_NAME: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(TYPE).map(([k, v]) => [v, k]))

export const CLASS = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const

export const RCODE = {
  NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16, BADCOOKIE: 23,
} as const

export const RCODE_NAME: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(RCODE).map(([k, v]) => [v, k]))

export const OPCODE_QUERY = 0

export const FLAG = {
  QR: 0x8000, AA: 0x0400, TC: 0x0200, RD: 0x0100, RA: 0x0080, Z: 0x0040, AD: 0x0020, CD: 0x0010,
} as const

export const EDNS_OPTION = { NSID: 3, ECS: 8, COOKIE: 10 } as const

export const HEADER_SIZE = 12
/** The plain-DNS UDP limit (RFC 1035 §4.2.1); also the floor for EDNS payload sizes (RFC 6891 §6.2.5). */
export const CLASSIC_UDP_SIZE = 512
