import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { AppendEntry, AppendReceipt, DocStore } from '../../persistence/doc-store.ts'
import { MemoryStore } from '../../persistence/testing/memory-store.ts'
import { createMetrics } from '../metrics.ts'
import { eventually } from '../../load-tests/harness/clients.ts'
import { GroupCommit } from './group-commit.ts'

/** MemoryStore whose appends fail while `failing` is set. */
class FailingStore extends MemoryStore {
  failing = 0
  calls: AppendEntry[][] = []
  override async append(entries: readonly AppendEntry[]): Promise<void> {
    this.calls.push([...entries])
    if (this.failing > 0) {
      this.failing--
      throw new Error('injected: disk unavailable')
    }
    return super.append(entries)
  }
}

function updates(n: number, key = 'k') {
  const doc = new Y.Doc()
  const out: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => out.push(u))
  for (let i = 0; i < n; i++) doc.getMap('m').set(`${key}${i}`, i)
  return out
}

const contentOf = async (store: MemoryStore, name: string) => {
  const doc = new Y.Doc()
  for (const u of (await store.load(name))?.updates ?? []) Y.applyUpdate(doc, u)
  return doc.getMap('m').toJSON()
}

const make = (store: FailingStore, intervalMs = 5) => new GroupCommit({ store, intervalMs, logger: pino({ level: 'silent' }), metrics: createMetrics() })

describe('GroupCommit', () => {
  it('merges a busy document’s window of updates into one entry, keeps a quiet one’s as they are, in one append', async () => {
    const store = new FailingStore()
    const gc = make(store)
    for (const u of updates(10, 'a')) gc.enqueue('a', u)
    for (const u of updates(3, 'b')) gc.enqueue('b', u)
    await gc.flushed()
    expect(store.calls).toHaveLength(1)
    // 10 updates of a: one entry (merging pays); 3 of b: three (an entry costs less than a merge).
    expect(store.calls[0]!.map((e) => e.name)).toEqual(['a', 'b', 'b', 'b'])
    expect(Object.keys(await contentOf(store, 'b'))).toHaveLength(3)
    expect(Object.keys(await contentOf(store, 'a'))).toHaveLength(10)
    expect(await gc.close(Date.now() + 1000)).toBe(0)
  })

  it('keeps updates in memory while the store fails, retries, and loses nothing', async () => {
    const store = new FailingStore()
    store.failing = 3
    const gc = make(store)
    const first = updates(5, 'x')
    for (const u of first.slice(0, 3)) gc.enqueue('d', u)
    const durable = gc.flushed()
    let resolved = false
    void durable.then(() => (resolved = true))
    await eventually(
      'a failed append',
      async () => gc.healthy,
      (healthy) => !healthy,
      5000,
    )
    expect(resolved).toBe(false) // not acknowledged while failing
    expect(gc.healthy).toBe(false)
    for (const u of first.slice(3)) gc.enqueue('d', u) // arrives during the outage
    await durable
    await gc.flushed()
    expect(gc.healthy).toBe(true)
    expect(await contentOf(store, 'd')).toEqual({ x0: 0, x1: 1, x2: 2, x3: 3, x4: 4 })
    expect(await gc.close(Date.now() + 1000)).toBe(0)
  })

  it('reports what it could not write when closing against a dead store', async () => {
    const store = new FailingStore()
    store.failing = Number.POSITIVE_INFINITY
    const gc = make(store)
    for (const u of updates(4)) gc.enqueue('d', u)
    expect(await gc.close(Date.now() + 300)).toBe(4)
  })

  it('stops waiting for a write that never answers at the deadline, and reports it unwritten', async () => {
    const store = new FailingStore()
    store.append = (entries) => {
      store.calls.push([...entries])
      return new Promise<void>(() => {}) // a store that hangs
    }
    const gc = make(store)
    for (const u of updates(3)) gc.enqueue('d', u)
    await eventually(
      'the write in flight',
      async () => store.calls.length,
      (n) => n === 1,
      5000,
    )
    expect(await gc.close(Date.now() + 200)).toBe(3)
  })

  it('moves its watermark: local once an append is durable, shared once a tiered store says it shipped', async () => {
    let ship!: () => void
    const shipped = new Promise<void>((r) => (ship = r))
    const memory = new MemoryStore()
    const tiered: DocStore = Object.assign(Object.create(memory) as MemoryStore, {
      append: async (entries: readonly AppendEntry[]): Promise<AppendReceipt> => {
        await memory.append(entries)
        return { shared: shipped }
      },
    })
    const gc = new GroupCommit({ store: tiered, intervalMs: 5, logger: pino({ level: 'silent' }), metrics: createMetrics() })
    for (const u of updates(3)) gc.enqueue('d', u)
    expect(gc.watermark).toEqual({ handed: 3, local: 0, shared: 0 })
    await gc.flushed()
    expect(gc.watermark).toEqual({ handed: 3, local: 3, shared: 0 })
    ship()
    await shipped
    expect(gc.watermark.shared).toBe(3)
    expect(await gc.close(Date.now() + 1000)).toBe(0)
  })
})
