/**
 * The root pino logger; modules take a child: `log.child({ mod: 'dns' })`. Nothing per query at
 * info. Two formats: JSON lines (for log shippers; the default when stdout is not a terminal) and
 * `pretty`, one readable line per record for a person at a terminal.
 */
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino'

export type { Logger }
export type LogFormat = 'json' | 'pretty'

export function createLogger (level: LevelWithSilent = 'info', format: LogFormat = 'json', out: NodeJS.WritableStream = process.stdout): Logger {
  if (format === 'json') return pino({ level, base: { pid: process.pid } }, out === process.stdout ? undefined : out as DestinationStream)
  return pino({ level, base: null }, prettyStream(out))
}

/** A logger that writes nothing: the default for library use and tests. */
export const silentLogger: Logger = pino({ level: 'silent' })

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' }
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\s"=\u0000-\u001f\u007f-\u009f]/
// eslint-disable-next-line no-control-regex
const UNSAFE_CONTROL = /[\u0000-\u001f\u007f-\u009f]/
const SKIP = new Set(['level', 'time', 'msg', 'mod', 'pid', 'hostname', 'err'])

/** Turns each JSON record pino writes into `HH:MM:SS.mmm LEVEL mod: message key=value ...`. */
export function prettyStream (out: NodeJS.WritableStream): DestinationStream {
  return {
    write (line: string): void {
      let rec: Record<string, unknown>
      try { rec = JSON.parse(line) as Record<string, unknown> } catch { out.write(line); return }
      out.write(`${prettyLine(rec)}\n`)
    },
  }
}

export function prettyLine (rec: Record<string, unknown>): string {
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 23) : ''
  const level = LEVELS[rec.level as number] ?? String(rec.level)
  const mod = typeof rec.mod === 'string' ? `${rec.mod}: ` : ''
  const fields = Object.entries(rec)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !UNSAFE.test(v) ? v : JSON.stringify(v)}`)
  // Control characters (a note, a probe's detail) are shown escaped: they never reach the terminal.
  const msg = String(rec.msg ?? '')
  let text = `${time} ${level} ${mod}${UNSAFE_CONTROL.test(msg) ? JSON.stringify(msg) : msg}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}`
  const err = rec.err as { message?: string, stack?: string } | undefined
  if (err !== undefined) text += `\n    ${(err.stack ?? err.message ?? JSON.stringify(err)).split('\n').join('\n    ')}`
  return text
}
