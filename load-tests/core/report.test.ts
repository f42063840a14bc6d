import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { stampsIn, StampCache } from './editor.ts'
import { createHistogram, encodeHistogram, mergeHistograms, recordMs, summarize } from '../../shared/histogram.ts'
import { canonicalJson, checkConvergence, mergeReports, sloViolations, type WorkerReport } from './report.ts'

describe('histograms', () => {
  it('merge across workers exactly like one histogram of all samples', () => {
    const a = createHistogram()
    const b = createHistogram()
    const all = createHistogram()
    for (let i = 1; i <= 5000; i++) {
      const ms = ((i * 7919) % 1000) / 10 + 0.05
      recordMs(i % 2 ? a : b, ms)
      recordMs(all, ms)
    }
    const merged = mergeHistograms([encodeHistogram(a), encodeHistogram(b)])
    const { max, ...percentiles } = summarize(merged)
    const { max: trueMax, ...truePercentiles } = summarize(all)
    expect(percentiles).toEqual(truePercentiles)
    // A decoded histogram reports max at bucket resolution: 3 significant digits.
    expect(Math.abs(max - trueMax) / trueMax).toBeLessThan(0.001)
    expect(merged.totalCount).toBe(5000)
    expect(summarize(merged).p50).toBeCloseTo(50, 0)
  })
})

describe('convergence', () => {
  const r = (doc: string, sv: string, content: string) => ({ doc, stateVector: sv, content })
  it('accepts identical replicas and names divergent documents', () => {
    expect(checkConvergence([r('a', 's', '{}'), r('a', 's', '{}'), r('b', 't', '1')])).toEqual({ checked: 3, converged: true, divergent: [] })
    expect(checkConvergence([r('a', 's', '{}'), r('a', 's', '{"x":1}'), r('b', 't', '1'), r('b', 'u', '1')])).toEqual({
      checked: 4,
      converged: false,
      divergent: ['a', 'b'],
    })
  })
  it('compares content independent of key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: 2 } })).toBe(canonicalJson({ a: { c: 2, d: [1, { y: 2, z: 1 }] }, b: 1 }))
  })
})

describe('reports', () => {
  const worker = (sent: Record<number, number>, connected: Record<number, number>, deliveries: number, lat: number[]): WorkerReport => {
    const h = createHistogram()
    for (const ms of lat) recordMs(h, ms)
    return {
      editors: 0,
      sentPerDoc: sent,
      connectedPerDoc: connected,
      deliveries,
      latency: encodeHistogram(h),
      syncTime: encodeHistogram(createHistogram()),
      poseLatency: encodeHistogram(createHistogram()),
      crossNodeLatency: encodeHistogram(createHistogram()),
      errors: { connect: 0, closed: 0, protocol: 0 },
      replicas: [],
      cpuMs: 0,
      elapsedMs: 1000,
    }
  }
  it('computes expected deliveries from editors connected per document across workers, and loss', () => {
    // doc 0: 3 editors over two workers sent 10 updates → 20 expected deliveries; doc 1: 1 editor → 0.
    const m = mergeReports([worker({ 0: 6, 1: 4 }, { 0: 2, 1: 1 }, 15, [1, 2]), worker({ 0: 4 }, { 0: 1 }, 4, [3])], 1)
    expect(m.updatesSent).toBe(14)
    expect(m.deliveriesExpected).toBe(20)
    expect(m.deliveriesReceived).toBe(19)
    expect(m.lossPct).toBeCloseTo(5)
    expect(m.latencyMs.count).toBe(3)
    expect(sloViolations(m, { maxLossPct: 1 })).toEqual(['loss 5.000 % > --max-loss 1 %'])
    expect(sloViolations(m, { maxLossPct: 10, maxP99Ms: 100 })).toEqual([])
  })
})

describe('send stamps', () => {
  it('are read from an update without applying it, per writer, once per distinct update', () => {
    const a = new Y.Doc()
    const updates: Uint8Array[] = []
    a.on('update', (u: Uint8Array) => updates.push(u))
    a.transact(() => {
      a.getMap('objects').set('x', { type: 'component' })
      a.getMap('lt').set('1', { lt: 123.5 })
    })
    a.getMap('lt').set('1', { lt: 200, n: 2 }) // written through the third server URL
    const merged = Y.mergeUpdates(updates)
    expect(stampsIn(merged)).toEqual([
      [a.clientID, 123.5, 0],
      [a.clientID, 200, 2],
    ])
    const cache = new StampCache(2)
    expect(cache.get(merged)).toBe(cache.get(Uint8Array.from(merged)))
  })
})
