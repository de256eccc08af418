/** The root pino logger; modules take a child: `log.child({ mod: 'dns' })`. Nothing per query at info. */
import { pino, type Logger, type LevelWithSilent } from 'pino'

export type { Logger }

export function createLogger (level: LevelWithSilent = 'info'): Logger {
  return pino({ level, base: { pid: process.pid } })
}

/** A logger that writes nothing: the default for library use and tests. */
export const silentLogger: Logger = pino({ level: 'silent' })
