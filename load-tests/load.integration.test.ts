/** A 5-second load against an in-process Atrium server: complete report, zero loss, converged. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAtrium, type Atrium } from '../server/atrium.ts'
import { configWith } from '../server/config.ts'
import { createLogger } from '../server/log.ts'
import { runLoad } from './cli/atrium-load.ts'
import type { FinalReport } from './core/report.ts'

describe('atrium-load against an in-process Atrium', () => {
  let dir: string
  let server: Atrium
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'atrium-load-'))
    server = await createAtrium({ config: configWith({ PORT: 0, HOST: '127.0.0.1', DATA_DIR: dir }), logger: createLogger({ level: 'silent', pretty: false }) })
  })
  afterAll(async () => {
    await server.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('runs 5 s over two worker processes with zero loss and a complete report', async () => {
    const plan = {
      url: `ws://127.0.0.1:${server.port}`,
      protocol: 'yws' as const,
      docs: 2,
      editorsPerDoc: 8,
      rate: 5,
      awarenessHz: 10,
      payload: 32,
      durationS: 5,
      docPrefix: 'it/',
      workers: 2,
      replicasPerDoc: 3,
    }
    const report: FinalReport = await runLoad(plan)
    expect(report.editors).toBe(16)
    expect(report.updatesSent).toBeGreaterThan(16 * 5 * 5 * 0.8)
    expect(report.deliveriesExpected).toBe(report.updatesSent * 7)
    expect(report.deliveriesReceived).toBe(report.deliveriesExpected)
    expect(report.lossPct).toBe(0)
    expect(report.latencyMs.count).toBe(report.deliveriesReceived)
    for (const k of ['p50', 'p90', 'p99', 'p999', 'max'] as const) expect(report.latencyMs[k]).toBeGreaterThan(0)
    expect(report.timeToFirstSyncMs.count).toBe(16)
    // 6 sampled replicas each see 7 peers' poses at 10 Hz for 5 s (2,100); the server may
    // coalesce a peer's poses within one tick, so ask for most of them, not all.
    expect(report.poseLatencyMs.count).toBeGreaterThan(1500)
    expect(report.poseLatencyMs.p99).toBeGreaterThan(0)
    expect(report.errors).toEqual({ connect: 0, closed: 0, protocol: 0 })
    expect(report.convergence).toEqual({ checked: 6, converged: true, divergent: [] })
    expect(report.generatorCpuPct).toBeGreaterThan(0)
  }, 60_000)
})
