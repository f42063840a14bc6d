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
