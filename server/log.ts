/**
 * The server's logger (pino) and LogLimiter: a line per key per interval, with the count of
 * lines it stood for, so a client refused in a loop cannot flood the log.
 */
import { pino, type Logger } from 'pino'

export type { Logger }

/** JSON lines on stdout; pretty output only when asked (LOG_PRETTY=true). */
export function createLogger(options: { level: string; pretty: boolean }): Logger {
  return pino({
    level: options.level,
    base: { service: 'atrium' },
    ...(options.pretty ? { transport: { target: 'pino-pretty', options: { destination: 1 } } } : {}),
  })
}

/**
 * At most one log line per key (a remote address) per interval: a client that is refused a
 * thousand times a second costs one line a second, which says how many it stood for.
 * Bounded in keys: past `maxKeys` the oldest half is forgotten.
 */
export class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>()

  constructor(
    private readonly intervalMs = 1000,
    private readonly maxKeys = 10_000,
  ) {}

  /** Null when this line should be dropped; else how many lines of this key were dropped before it. */
  allow(key: string, now = Date.now()): number | null {
    const entry = this.last.get(key)
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++
      return null
    }
    const suppressed = entry?.suppressed ?? 0
    this.last.delete(key)
    this.last.set(key, { at: now, suppressed: 0 })
    if (this.last.size > this.maxKeys) {
      let drop = this.last.size / 2
      for (const k of this.last.keys()) {
        if (drop-- <= 0) break
        this.last.delete(k)
      }
    }
    return suppressed
  }
}
