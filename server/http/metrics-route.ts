/** `/metrics` for Prometheus, on the main app or on its own port (METRICS_PORT). */
import type { TemplatedApp } from 'uWebSockets.js'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import { route } from './route.ts'

/** `/metrics` for Prometheus: on the main app, or on its own (METRICS_PORT). Its labels never name documents or tokens. */
export function mountMetrics(app: TemplatedApp, metrics: Metrics, logger: Logger): void {
  app.get(
    '/metrics',
    route(logger, async () => {
      for (const refresh of metrics.beforeScrape) refresh()
      return { status: 200, body: await metrics.registry.metrics(), type: metrics.registry.contentType }
    }),
  )
}
