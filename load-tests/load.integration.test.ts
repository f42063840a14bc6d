/**
 * 5-second loads against an in-process Atrium, in both framings (y-websocket: a document per
 * path; Hocuspocus: the server's root, a document opened by an auth message): complete
 * report, zero loss, converged. Then the Hocuspocus editors' token, against a server that
 * checks tokens: accepted with a right, refused at once (and said why) without.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAtrium, type Atrium } from '../server/atrium.ts'
import { mintToken } from '../server/auth/mint.ts'
import { configWith } from '../server/config.ts'
import { createLogger } from '../server/log.ts'
import { runLoad } from './cli/atrium-load.ts'
import type { Protocol } from './core/editor.ts'
import type { FinalReport } from './core/report.ts'

async function startAtrium(env: Record<string, string | number> = {}): Promise<{ server: Atrium; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'atrium-load-'))
  const config = configWith({ PORT: 0, HOST: '127.0.0.1', DATA_DIR: dir, ...env })
  return { server: await createAtrium({ config, logger: createLogger({ level: 'silent', pretty: false }) }), dir }
}

/** 2 documents × 8 editors at 5 updates/s and 10 poses/s, over two worker processes, for 5 s. */
const plan = (port: number, protocol: Protocol) => ({
  url: `ws://127.0.0.1:${port}`,
  protocol,
  docs: 2,
  editorsPerDoc: 8,
  rate: 5,
  awarenessHz: 10,
  payload: 32,
  durationS: 5,
  docPrefix: `it/${protocol}/`,
  workers: 2,
  replicasPerDoc: 3,
})

function expectComplete(report: FinalReport): void {
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
}

describe('atrium-load against an in-process Atrium', () => {
  let dir: string
  let server: Atrium
  beforeAll(async () => {
    ;({ server, dir } = await startAtrium())
  })
  afterAll(async () => {
    await server.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('runs 5 s over two worker processes with zero loss and a complete report', async () => {
    expectComplete(await runLoad(plan(server.port, 'yws')))
  }, 60_000)

  it('runs the same load with --protocol hocuspocus at the server root: zero loss, no errors, converged', async () => {
    expectComplete(await runLoad(plan(server.port, 'hocuspocus')))
  }, 60_000)
})

describe('atrium-load --protocol hocuspocus against an Atrium that checks tokens', () => {
  const secret = 'load-test-secret-0123456789abcdef0123'
  let dir: string
  let server: Atrium
  beforeAll(async () => {
    ;({ server, dir } = await startAtrium({ AUTH_SECRET: secret }))
  })
  afterAll(async () => {
    await server.close()
    await rm(dir, { recursive: true, force: true })
  })
  const short = (port: number, token: string, docPrefix: string) => ({
    ...plan(port, 'hocuspocus'),
    docs: 1,
    editorsPerDoc: 4,
    awarenessHz: 0,
    durationS: 2,
    workers: 1,
    docPrefix,
    token,
  })

  it("sends --token in each document's auth message", async () => {
    const token = await mintToken({ secret, sub: 'load', docs: { 'it/**': 'write' }, ttlS: 600 })
    const report = await runLoad(short(server.port, token, 'it/granted/'))
    expect(report.editors).toBe(4)
    expect(report.deliveriesReceived).toBe(report.updatesSent * 3)
    expect(report.updatesSent).toBeGreaterThan(0)
    expect(report.errors).toEqual({ connect: 0, closed: 0, protocol: 0 })
    expect(report.convergence).toEqual({ checked: 3, converged: true, divergent: [] })
  }, 60_000)

  it('counts one connect error per editor whose document is denied', async () => {
    const token = await mintToken({ secret, sub: 'load', docs: { 'elsewhere/**': 'write' }, ttlS: 600 })
    const report = await runLoad(short(server.port, token, 'it/denied/'))
    expect(report.editors).toBe(0)
    expect(report.errors).toEqual({ connect: 4, closed: 0, protocol: 0 })
  }, 60_000)
})
