/**
 * 20 simulated headsets at 90 Hz for about 3 s against a real server process, each on its own
 * socket through the SDK: every headset sees every other one stream poses, and the anchors
 * each one places reach all of them. No timing is asserted (the machine is shared); the
 * latency figures are only required to exist.
 */
import { afterAll, expect, it } from 'vitest'
import { killAllServers, startServerProcess } from '../../load-tests/harness/server-process.ts'
import { runFleet } from './fleet.ts'

afterAll(() => killAllServers())

it('20 headsets at 90 Hz: every headset sees every other one, and every anchor reaches all', async () => {
  const server = await startServerProcess()
  const report = await runFleet({ urls: server.wsUrl, doc: 'site/xr-fleet', headsets: 20, hz: 90, durationS: 3, anchors: 2 })
  expect(report.headsets).toBe(20)
  expect(report.sendHz).toBe(90)
  expect(report.grantedTier).toBeNull()
  expect(report.perHeadset.map((h) => h.peersSeen)).toEqual(Array(20).fill(19))
  expect(report.anchorsCreated).toBe(40)
  expect(report.perHeadset.map((h) => h.anchorsSeen)).toEqual(Array(20).fill(40))
  expect(report.posesSent).toBeGreaterThan(0)
  expect(report.latencyMs.count).toBeGreaterThan(0)
  expect(report.latencyMs.p99).toBeGreaterThanOrEqual(report.latencyMs.p50)
  expect(report.anchorMovesRefused).toEqual([])
}, 60_000)

it('an aborted fleet stops streaming and still reports', async () => {
  const server = await startServerProcess()
  const stop = new AbortController()
  const fleet = runFleet({
    urls: server.wsUrl,
    doc: 'site/xr-abort',
    headsets: 3,
    hz: 60,
    durationS: 600,
    signal: stop.signal,
    onPhase: (p) => p === 'streaming' && stop.abort(),
  })
  const report = await fleet
  expect(report.headsets).toBe(3)
  expect(report.durationS).toBeLessThan(600)
  expect(report.anchorsSeenMin).toBe(3)
})
