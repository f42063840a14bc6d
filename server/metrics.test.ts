/** /metrics is often scraped by people who may not read documents: no label may name a document, a user or a token. */
import { describe, expect, it } from 'vitest'
import { createMetrics } from './metrics.ts'

// Ours, and prom-client's process metrics (heap space, GC kind, Node version).
const ALLOWED_LABELS = new Set(['reason', 'kind', 'cache', 'origin', 'type', 'op', 'direction', 'result', 'space', 'version', 'major', 'minor', 'patch'])

describe('metrics', () => {
  it('have only labels from a closed set of kinds (never a document name, subject or token id)', () => {
    const { registry } = createMetrics()
    for (const m of registry.getMetricsAsArray()) {
      const labels = ((m as unknown as { labelNames?: string[] }).labelNames ?? []).filter((l) => !ALLOWED_LABELS.has(l))
      expect(labels, m.name).toEqual([])
    }
  })
})
