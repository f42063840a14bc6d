/**
 * Unloading with tiered storage (local queue shipped to a shared store): a document stays
 * loaded until everything of it is shipped, including edits made by a session that came and
 * went while the unload was waiting for shipping.
 */
import { pino } from 'pino'
import { expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { LogStore } from '../../persistence/mongo/log-store.ts'
import { MemoryLogBackend } from '../../persistence/testing/mongo-memory-backend.ts'
import { memoryOutbox } from '../../persistence/testing/memory-outbox.ts'
import { ShippingStore } from '../../persistence/shipping-store.ts'
import { createMetrics } from '../metrics.ts'
import type { Compactor } from './compactor.ts'
import { GroupCommit } from './group-commit.ts'
import { DocumentRegistry } from './registry.ts'
import { eventually } from '../../load-tests/harness/clients.ts'
import { testSession } from '../testing/session.ts'
import { writerOptions } from '../testing/writer-options.ts'

it('does not unload a document whose newest edits are still in the group commit when shipping catches up', async () => {
  const backend = new MemoryLogBackend()
  const remote = new LogStore(backend)
  let gate: Promise<void> | null = null
  let open!: () => void
  backend.hook = async (op) => {
    if (op === 'insertLog' && gate) await gate
  }
  const store = new ShippingStore({ outbox: memoryOutbox(), remote, minBackoffMs: 5, maxBackoffMs: 10 })
  const settled = vi.spyOn(store, 'settled')
  const logger = pino({ level: 'silent' })
  const metrics = createMetrics()
  const groupCommit = new GroupCommit({ store, intervalMs: 100, logger, metrics })
  const compactor = { track() {}, forget() {}, appended() {} } as unknown as Compactor
  const registry = new DocumentRegistry({
    store,
    groupCommit,
    compactor,
    publisher: { publish() {} },
    unloadGraceMs: 10,
    batchBytes: 1 << 20,
    logger,
    metrics,
    writer: writerOptions(),
    merge: async (u) => Y.mergeUpdates([...u]),
  })
  const session = testSession('a')
  try {
    const doc = await registry.acquire('a')
    registry.attach(doc, session)
    gate = new Promise((r) => (open = r)) // shipping stalls
    doc.doc.getMap('m').set('x', 1)
    registry.detach(doc, session)
    // x is queued locally; past the grace the unload waits for it to be shipped.
    await eventually(
      'the unload waiting for shipping',
      async () => settled.mock.calls.some(([name]) => name === 'a'),
      (waiting) => waiting,
      5000,
    )
    expect(store.outbox.has('a')).toBe(true)
    expect(registry.peek('a')).toBe(doc)
    registry.attach(doc, session)
    doc.doc.getMap('m').set('y', 2) // in the group commit for up to 100 ms
    registry.detach(doc, session)
    open()
    gate = null // x ships; y is not in the queue yet
    // From now on until it unloads: whenever the document is not loaded, nothing of it may be unshipped.
    const violations: string[] = []
    const deadline = Date.now() + 10_000
    for (;;) {
      const loaded = registry.peek('a') !== undefined
      if (!loaded && (groupCommit.hasPending('a') || store.outbox.has('a')))
        violations.push(`unloaded with pending=${groupCommit.hasPending('a')} queued=${store.outbox.has('a')}`)
      if (!loaded || Date.now() > deadline) break
      await new Promise((r) => setTimeout(r, 1)) // how often the invariant is sampled, not a wait for a condition
    }
    expect(violations).toEqual([])
    expect(registry.peek('a'), 'unloaded within 10 s once shipped').toBeUndefined() // and it did unload in the end
    const stored = (await remote.load('a'))!
    const check = new Y.Doc()
    for (const u of stored.updates) Y.applyUpdate(check, u)
    expect(check.getMap('m').toJSON()).toEqual({ x: 1, y: 2 })
  } finally {
    registry.close()
    await groupCommit.close(Date.now() + 500)
    await store.close()
  }
})
