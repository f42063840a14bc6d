/**
 * Entry point: the only place that reads the environment. Validates the config (one line
 * naming the bad variable, exit 2), refuses to run on uWS's JavaScript fallback, starts the
 * server and shuts it down gracefully on SIGTERM/SIGINT.
 */
import { createAtrium } from './atrium.ts'
import { ConfigError, parseConfig, type Config } from './config.ts'
import { InsecureStartup } from './auth/verifier.ts'
import { createLogger } from './log.ts'

let config: Config
try {
  config = parseConfig(process.env)
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`${err.message}\n`)
  process.exit(2)
}

const logger = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY })

try {
  const server = await createAtrium({ config, logger })
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'signal received')
    const timer = setTimeout(() => {
      logger.fatal({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'graceful shutdown timed out; exiting')
      process.exit(1)
    }, config.SHUTDOWN_TIMEOUT_MS + 1000)
    timer.unref()
    server.close().then(
      ({ unflushedUpdates }) => process.exit(unflushedUpdates === 0 ? 0 : 1),
      (err: unknown) => {
        logger.fatal({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
} catch (err) {
  // Listening where anyone reaches it with no access control: a configuration error, one line.
  if (err instanceof InsecureStartup) {
    process.stderr.write(`${err.message}\n`)
    process.exit(2)
  }
  logger.fatal({ err }, 'start-up failed')
  process.exit(1)
}
