/**
 * Latency histograms (HdrHistogram, microsecond resolution, 3 significant digits) that
 * workers serialise and the coordinator merges without losing precision. Shared by the load
 * tests and the XR client (a headset measures the pose latency it sees); pure JavaScript.
 */
import * as hdr from 'hdr-histogram-js'

const HIGHEST_US = 60_000_000 // 60 s

export type Histogram = hdr.Histogram

export function createHistogram(): Histogram {
  return hdr.build({ bitBucketSize: 64, lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3, autoResize: true })
}

export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1000)))
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h)
}

export function mergeHistograms(encoded: readonly string[]): Histogram {
  const total = createHistogram()
  for (const e of encoded) total.add(hdr.decodeFromCompressedBase64(e, 64, false))
  return total
}

export interface LatencySummary {
  count: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

/** Percentiles in milliseconds. */
export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  }
}
