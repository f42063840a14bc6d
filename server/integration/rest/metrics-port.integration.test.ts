/** METRICS_PORT: /metrics moves to its own port, off the main one (which may face the internet). */
import { afterAll, expect, it } from 'vitest'
import { killAllServers, startServerProcess } from '../../../load-tests/harness/server-process.ts'

afterAll(() => killAllServers())

it('serves /metrics only on METRICS_PORT when it is set', async () => {
  const server = await startServerProcess({ METRICS_PORT: 0 })
  const port = server.logs.find((l) => l.msg === 'listening')?.metricsPort as number
  expect(port).toBeGreaterThan(0)
  expect((await fetch(`${server.httpUrl}/metrics`)).status).toBe(404)
  const scraped = await fetch(`http://127.0.0.1:${port}/metrics`)
  expect(scraped.status).toBe(200)
  expect(await scraped.text()).toContain('atrium_connections')
  expect((await fetch(`http://127.0.0.1:${port}/api/documents`)).status).toBe(404)
})
