/**
 * Memory pressure: the registry unloads the documents nobody is connected to at once, instead
 * of after their grace period, each only once all of it is stored; documents in use stay.
 */
import { pino } from 'pino'
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { eventually } from '../../load-tests/harness/clients.ts'
import { storedToDoc } from '../../persistence/doc-store.ts'
import { MemoryStore } from '../../persistence/testing/memory-store.ts'
import { createMetrics } from '../metrics.ts'
import { testSession } from '../testing/session.ts'
import { writerOptions } from '../testing/writer-options.ts'
import type { Compactor } from './compactor.ts'
import { GroupCommit } from './group-commit.ts'
import { DocumentRegistry } from './registry.ts'

it('unloads idle documents at once, after their edits are stored, and keeps the ones in use', async () => {
  const store = new MemoryStore()
  const logger = pino({ level: 'silent' })
  const metrics = createMetrics()
  const groupCommit = new GroupCommit({ store, intervalMs: 5, logger, metrics })
  const registry = new DocumentRegistry({
    store,
    groupCommit,
    compactor: { track() {}, forget() {}, appended() {} } as unknown as Compactor,
    publisher: { publish() {} },
    unloadGraceMs: 3_600_000, // an hour: only memory pressure unloads it in this test
    batchBytes: 1 << 20,
    logger,
    metrics,
    writer: writerOptions(),
    merge: async (u) => Y.mergeUpdates([...u]),
  })
  const idle = testSession('idle')
  const busy = testSession('busy')
  const a = await registry.acquire('idle')
  const b = await registry.acquire('busy')
  registry.attach(a, idle)
  registry.attach(b, busy)
  a.doc.getMap('m').set('kept', 1)
  registry.detach(a, idle)
  expect(registry.unloadIdle()).toBe(1)
  await eventually(
    'the idle document unloaded',
    async () => registry.peek('idle'),
    (d) => d === undefined,
    5000,
  )
  expect(registry.peek('busy')).toBe(b)
  expect(
    storedToDoc(await store.load('idle'))
      .getMap('m')
      .get('kept'),
  ).toBe(1)
  // Nothing idle left: nothing to do.
  expect(registry.unloadIdle()).toBe(0)
  registry.close()
  await groupCommit.close(Date.now() + 1000)
})
