import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { BEGIN, END, ratioToBest, renderTable, splice, targets, type Results } from './bench-report.ts'

const results: Results = {
  atrium: {
    s1: { p50: 1, p99: 4, cpuUsPerDelivery: 10 },
    s2: { deliveriesPerS: 100000, rate: 50, cpuUsPerDelivery: 3 },
    s3: { p50: 1, p99: 70, cpuUsPerDelivery: 60 },
    s4: { kbPerConnection: 0.8, connections: 5000 },
    s5: { firstMs: 250, medianMs: 240, uploadMs: 1300, peakRssMiB: 400, objects: 100000, updateMiB: 7.9 },
    s6: { p50: 1, p99: 8, poseP50: 2, poseP99: 25, loss: 0, converged: 'yes' },
    s7: { joiners: 150, updateMiB: 3.85, p50: 640, p99: 870, rssMiBLoaded: 276, peakRssMiB: 419 },
  },
  hocuspocus: {
    s1: { p50: 3, p99: 400, cpuUsPerDelivery: 25 },
    s2: { note: 'no step held' },
    s3: { p50: 5, p99: 700, cpuUsPerDelivery: 80 },
    s4: { kbPerConnection: 9, connections: 5000 },
    s5: { firstMs: 600, medianMs: 300, uploadMs: 700, peakRssMiB: 300, objects: 100000, updateMiB: 7.9 },
    s6: { p50: 6000, p99: 27000, poseP50: 5000, poseP99: 30000, loss: 80, converged: 'NO' },
    s7: { joiners: 150, updateMiB: 3.85, p50: 3400, p99: 6362, rssMiBLoaded: 176, peakRssMiB: 231 },
  },
  atriumHocuspocus: {
    s1: { p50: 1.5, p99: 5, cpuUsPerDelivery: 12 },
    s6: { p50: 2, p99: 9, poseP50: 3, poseP99: 30, loss: 0, converged: 'yes' },
  },
  relay: { s1: { p50: 0.4, p99: 2.5, cpuUsPerDelivery: 2.7 }, s4: { kbPerConnection: 1.5, connections: 5000 } },
  uwsYjs: { s5: { firstMs: 390, medianMs: 350, uploadMs: 380, objects: 100000 } },
  ywebsocket: {
    s1: { p50: 9, p99: 300, cpuUsPerDelivery: 20 },
    s2: { deliveriesPerS: 20000, rate: 10, cpuUsPerDelivery: 18 },
    s3: { p50: 25, p99: 300, cpuUsPerDelivery: 66 },
    s4: { kbPerConnection: 5, connections: 5000 },
    s5: { firstMs: 560, medianMs: 310, uploadMs: 720, peakRssMiB: 280, objects: 100000, updateMiB: 7.9 },
    s6: { p50: 6000, p99: 24000, loss: 50, converged: 'NO' },
  },
}

describe('bench report', () => {
  it('takes ratios against the best peer', () => {
    expect(ratioToBest(10, [25, 20])).toBe('0.500')
    expect(ratioToBest(10, [Number.NaN])).toBe('—')
  })
  it('judges the targets from the figures', () => {
    expect(targets(results)).toEqual([
      'scenario 1 p99 ≤ 5 ms: met (4 ms)',
      "scenario 1 CPU per delivery ≤ ½ Hocuspocus's: met (0.4×)",
      'scenario 2: Hocuspocus sustained no step under the SLO; Atrium 100,000/s',
      'scenario 4 ≤ 3 KB per idle connection: met (0.8 KB)',
      "scenario 5 first opener ≤ ½ the best peer's time: met (0.446×)",
      "scenario 5 upload ≤ 1.2× the minimal uWS + Yjs server's: **missed** (3.421×)",
      'scenario 7 every joiner synced, p99 ≤ 1 s: met (870 ms)',
      "scenario 7 peak RSS ≤ 1.2× Hocuspocus's: **missed** (1.81×)",
      // Edits meet 20 ms but poses do not: the target is missed.
      'scenario 6 p99 ≤ 20 ms (poses and edits): **missed** (poses 25 ms, edits 8 ms)',
    ])
  })
  it('renders a row per figure and replaces only the generated region', () => {
    const table = renderTable(results, { date: '2026-11-22', commit: 'abc' })
    expect(table).toContain('| 1. 1 doc × 50 × 10/s: p50 / p99 | 1 / 4 ms | 3 / 400 ms | 9 / 300 ms | 0.013 |')
    expect(table).toContain('no step held')
    expect(table).toContain('| 7. RSS with the building loaded → peak during the storm | 276 → 419 MiB | 176 → 231 MiB | — | 1.814 |')
    expect(table).toContain(
      '| 5. the first opener of a loaded building: connect to sync step 2 received | 250 ms (100,000 objects, 7.9 MiB) | 600 ms (100,000 objects, 7.9 MiB) | 560 ms (100,000 objects, 7.9 MiB) | 0.446 |',
    )
    expect(table).toContain('scenario 5 upload 380 ms, first opener 390 ms')
    expect(table).toContain('scenario 1 2.7 µs CPU per delivery (p99 2.5 ms); scenario 4 1.5 KB per added idle connection.')
    expect(table).toContain('| 6. pose (awareness) p50 / p99, sampled receivers | 2 / 25 ms | 5,000 / 30,000 ms | — | 0.00083 |')
    // Atrium with Hocuspocus-framed clients: scenarios 1 and 6, against Hocuspocus only.
    expect(table).toContain('| 1. Hocuspocus framing (Atrium ÷ Hocuspocus): p50 / p99 | 1.5 / 5 ms | 3 / 400 ms | — | 0.013 |')
    expect(table).toContain('| 1. Hocuspocus framing: server CPU µs per delivery | 12 | 25 | — | 0.480 |')
    expect(table).toContain('| 6. Hocuspocus framing (Atrium ÷ Hocuspocus): update p50 / p99 | 2 / 9 ms | 6,000 / 27,000 ms | — | 0.00033 |')
    expect(table).toContain('| 6. Hocuspocus framing: pose p50 / p99 | 3 / 30 ms | 5,000 / 30,000 ms | — | 0.0010 |')
    expect(table).toContain('| 6. Hocuspocus framing: loss / converged | 0 % / yes | 80 % / NO | — |  |')
    const { atriumHocuspocus: _, ...without } = results
    expect(renderTable(without, { date: '2026-11-22', commit: 'abc' })).not.toContain('Hocuspocus framing')
    const doc = `# B\n\nintro\n\n${BEGIN}\nold\n${END}\n\nafter\n`
    const out = splice(doc, 'new')
    expect(out).toBe(`# B\n\nintro\n\n${BEGIN}\nnew\n${END}\n\nafter\n`)
    expect(splice('# B\n', 'x')).toBe(`# B\n\n${BEGIN}\nx\n${END}\n`)
  })
  it('the committed BENCHMARKS.md has the generated region', () => {
    const md = readFileSync(new URL('../../BENCHMARKS.md', import.meta.url), 'utf8')
    expect(md.indexOf(BEGIN)).toBeGreaterThan(0)
    expect(md.indexOf(END)).toBeGreaterThan(md.indexOf(BEGIN))
  })
})
