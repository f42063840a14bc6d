/**
 * Shipping the local log to the shared store: against the shared-store protocol on
 * in-memory primitives whose hook injects outages, latency, failing writes and lost
 * acknowledgements; the outbox on LMDB (real disk) and on a Map.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { storedToDoc } from './doc-store.ts'
import { LogStore } from './mongo/log-store.ts'
import { MemoryLogBackend, memoryLogState, type MemoryLogState } from './testing/mongo-memory-backend.ts'
import { openLmdbOutbox } from './outbox.ts'
import { memoryOutbox, type MemoryOutboxDisk } from './testing/memory-outbox.ts'
import { ShippingQueueFullError, ShippingStore } from './shipping-store.ts'

const dirs: string[] = []
const open: ShippingStore[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()))
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
})

function shipping(
  opts: { state?: MemoryLogState; disk?: MemoryOutboxDisk; coalesceEntries?: number; maxQueueBytes?: number; batchEntries?: number; batchBytes?: number } = {},
) {
  const backend = new MemoryLogBackend(opts.state ?? memoryLogState())
  const remote = new LogStore(backend)
  const outboxDisk = opts.disk ?? { entries: new Map(), lastKey: 0 }
  const store = new ShippingStore({
    outbox: memoryOutbox(outboxDisk),
    remote,
    minBackoffMs: 5,
    maxBackoffMs: 40,
    coalesceEntries: opts.coalesceEntries ?? 1000,
    maxQueueBytes: opts.maxQueueBytes,
    batchEntries: opts.batchEntries,
    batchBytes: opts.batchBytes,
  })
  open.push(store)
  return { store, backend, remote, outboxDisk, state: backend.state }
}

/** Edits a Y.Doc; each call's update is what a group commit would append. */
function source() {
  const doc = new Y.Doc()
  let n = 0
  return {
    doc,
    next(): Uint8Array {
      let update!: Uint8Array
      doc.once('update', (u: Uint8Array) => (update = u))
      const i = n++
      doc.getMap('objects').set(`o${i}`, { type: 'component', name: `object ${i}` })
      return update
    },
  }
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms: ${check.toString()}`)
    await new Promise((r) => setTimeout(r, 5)) // polling interval of this wait, not a wait of its own
  }
}

async function remoteContent(remote: LogStore, name: string): Promise<unknown> {
  return storedToDoc(await remote.load(name))
    .getMap('objects')
    .toJSON()
}

const json = (doc: Y.Doc) => doc.getMap('objects').toJSON()

describe('ShippingStore', () => {
  it('ships appends in batches, removes them locally only once confirmed, and then says so in the receipt', async () => {
    const { store, remote, backend } = shipping()
    const src = source()
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let inFlight = false
    backend.hook = (op) => {
      if (op !== 'insertLog') return undefined
      inFlight = true
      return gate
    }
    const receipt = await store.append([
      { name: 'd', update: src.next() },
      { name: 'e', update: src.next() },
    ])
    let shipped = false
    void receipt.shared.then(() => (shipped = true))
    // Durable locally, being shipped, not yet confirmed: still queued, receipt not confirmed.
    await until(() => inFlight)
    expect(store.outbox.entries).toBe(2)
    expect(shipped).toBe(false)
    release()
    await receipt.shared
    expect(store.outbox.entries).toBe(0)
    expect((await remote.load('d'))!.updates).toHaveLength(1)
  })

  it('keeps accepting edits while the shared store is down, then catches up in order without loss', async () => {
    const { store, backend, remote } = shipping({ coalesceEntries: 50 })
    const src = source()
    let down = true
    backend.hook = () => {
      if (down) throw new Error('connection refused')
    }
    for (let i = 0; i < 300; i++) await store.append([{ name: 'd', update: src.next() }])
    await expect(store.load('d')).rejects.toThrow(/connection refused/) // never served from a partial copy
    await until(() => store.outbox.entries < 300) // coalesced while down: the queue shrank
    expect(store.outbox.updatesOf('d').length).toBeLessThan(300)
    down = false
    await until(() => store.outbox.entries === 0)
    expect(await remoteContent(remote, 'd')).toEqual(json(src.doc))
    // Caught up in a few records, not 300.
    expect((await remote.load('d'))!.updates.length).toBeLessThan(20)
  })

  it('merges queued entries while down into runs no larger than a batch', async () => {
    const { store, backend, remote } = shipping({ coalesceEntries: 20, batchBytes: 600 })
    let down = true
    backend.hook = () => {
      if (down) throw new Error('down')
    }
    const src = source()
    for (let i = 0; i < 100; i++) await store.append([{ name: 'd', update: src.next() }])
    await until(() => store.outbox.entries < 100)
    const sizes = store.outbox.updatesOf('d').map((u) => u.length)
    expect(sizes.length).toBeGreaterThan(1) // several runs, not one merge of everything
    expect(Math.max(...sizes)).toBeLessThanOrEqual(600)
    down = false
    await until(() => store.outbox.entries === 0)
    expect(await remoteContent(remote, 'd')).toEqual(json(src.doc))
  })

  it('ships everything through a slow store while edits keep coming', async () => {
    const { store, backend, remote } = shipping({ batchEntries: 20 })
    const src = source()
    backend.hook = () => new Promise((r) => setTimeout(r, 15)) // injected latency of the slow store, not a wait
    for (let i = 0; i < 200; i++) {
      await store.append([{ name: i % 2 ? 'a' : 'b', update: src.next() }])
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5)) // paces the edits so they keep coming while batches ship, not a wait
    }
    await until(() => store.outbox.entries === 0, 20_000)
    const merged = new Y.Doc()
    for (const name of ['a', 'b']) {
      const stored = (await remote.load(name))!
      for (const u of stored.updates) Y.applyUpdate(merged, u)
    }
    expect(json(merged)).toEqual(json(src.doc))
  })

  it('survives a store that fails half of the writes, and one that loses acknowledgements', async () => {
    for (const mode of ['fail-half', 'lost-ack'] as const) {
      const { store, backend, remote } = shipping({ batchEntries: 7 })
      const src = source()
      let writes = 0
      const inner = backend.insertLog.bind(backend)
      backend.insertLog = async (records) => {
        writes++
        if (mode === 'fail-half' && writes % 2 === 0) throw new Error('write failed')
        await inner(records)
        if (mode === 'lost-ack' && writes % 2 === 0) throw new Error('connection reset after write')
      }
      for (let i = 0; i < 100; i++) await store.append([{ name: 'd', update: src.next() }])
      await until(() => store.outbox.entries === 0)
      expect(await remoteContent(remote, 'd')).toEqual(json(src.doc))
      const records = (await remote.load('d'))!.updates.length
      // Lost acknowledgements re-ship a batch: a bounded number of harmless duplicates.
      if (mode === 'lost-ack') expect(records).toBeLessThanOrEqual(writes)
    }
  })

  it('after a crash, a restart ships what was queued (including a batch already shipped once)', async () => {
    const state = memoryLogState()
    const disk: MemoryOutboxDisk = { entries: new Map(), lastKey: 0 }
    const first = shipping({ state, disk })
    const src = source()
    // The shared store takes the batch, then the node dies before it could remove it locally.
    first.backend.insertLog = async (records) => {
      await MemoryLogBackend.prototype.insertLog.call(first.backend, records)
      throw new Error('process killed')
    }
    for (let i = 0; i < 40; i++) await first.store.append([{ name: 'd', update: src.next() }])
    await until(() => state.log.size > 0)
    await first.store.close()
    expect(disk.entries.size).toBe(40)

    const second = shipping({ state, disk })
    await until(() => second.store.outbox.entries === 0)
    expect(await remoteContent(second.remote, 'd')).toEqual(json(src.doc))
    // Keys are never reused after the restart.
    expect(disk.lastKey).toBe(40)
  })

  it('load merges the shared store with what is still queued here', async () => {
    const { store, backend } = shipping()
    const src = source()
    await store.append([{ name: 'd', update: src.next() }])
    await until(() => store.outbox.entries === 0)
    let blocked = true
    backend.hook = (op) => {
      if (blocked && op === 'insertLog') throw new Error('slow down')
    }
    await store.append([{ name: 'd', update: src.next() }])
    const loaded = (await store.load('d'))!
    const doc = new Y.Doc()
    for (const u of loaded.updates) Y.applyUpdate(doc, u)
    expect(json(doc)).toEqual(json(src.doc))
    blocked = false
  })

  it('a load racing the shipper sees an entry that moves from the queue to the shared store meanwhile', async () => {
    const { store, backend } = shipping()
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    backend.hook = (op) => (op === 'insertLog' ? gate : undefined)
    const src = source()
    await store.append([{ name: 'd', update: src.next() }])
    // The load's read of the shared store finds nothing; right after it, the entry is shipped and leaves the queue.
    const readLog = backend.readLog.bind(backend)
    backend.readLog = async (name) => {
      const records = await readLog(name)
      release()
      await until(() => store.outbox.entries === 0)
      return records
    }
    const loaded = await store.load('d')
    expect(loaded).not.toBeNull()
    const doc = new Y.Doc()
    for (const u of loaded!.updates) Y.applyUpdate(doc, u)
    expect(json(doc)).toEqual(json(src.doc))
  })

  it('bounds the queue: past maxQueueBytes appends fail with a clear error until shipping catches up', async () => {
    const { store, backend } = shipping({ maxQueueBytes: 2000, coalesceEntries: 1_000_000 })
    let down = true
    backend.hook = () => {
      if (down) throw new Error('down')
    }
    const src = source()
    let refused: unknown = null
    for (let i = 0; i < 200 && !refused; i++) await store.append([{ name: 'd', update: src.next() }]).catch((e: unknown) => (refused = e))
    expect(refused).toBeInstanceOf(ShippingQueueFullError)
    expect(store.queueFull).toBe(true)
    down = false
    await until(() => !store.queueFull)
    await expect(store.append([{ name: 'd', update: src.next() }])).resolves.toHaveProperty('shared')
  })

  it('settled() resolves once nothing of the document is queued', async () => {
    const { store, backend } = shipping()
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let inFlight = false
    backend.hook = (op) => {
      if (op !== 'insertLog') return undefined
      inFlight = true
      return gate
    }
    await store.append([{ name: 'd', update: Uint8Array.of(0, 0) }])
    let settled = false
    void store.settled('d').then(() => (settled = true))
    // The entry is on its way to the shared store, and held there: queued here until it lands.
    await until(() => inFlight)
    expect(settled).toBe(false)
    release()
    await until(() => settled)
  })
})

describe('LMDB outbox', () => {
  it('keeps entries and the key counter across reopen, never reusing a key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atrium-outbox-'))
    dirs.push(dir)
    let outbox = openLmdbOutbox(dir, 64 * 1024 ** 2)
    expect(
      await outbox.append([
        { name: 'a', update: Uint8Array.of(1) },
        { name: 'b', update: Uint8Array.of(2) },
        { name: 'a', update: Uint8Array.of(3) },
      ]),
    ).toBe(3)
    await outbox.remove([1, 2, 3])
    expect(outbox.entries).toBe(0)
    await outbox.append([{ name: 'a', update: Uint8Array.of(4) }])
    await outbox.close()
    outbox = openLmdbOutbox(dir, 64 * 1024 ** 2)
    expect(outbox.entries).toBe(1)
    expect(outbox.updatesOf('a').map((u) => [...u])).toEqual([[4]])
    expect(await outbox.append([{ name: 'a', update: Uint8Array.of(5) }])).toBe(5)
    // A merge replaces entries at a new key but keeps the lowest receipt it holds unconfirmed.
    const merged = await outbox.replace('a', [4, 5], Uint8Array.of(4, 5))
    expect(merged).toBe(6)
    expect(outbox.confirmedThrough()).toBe(3)
    await outbox.close()
    outbox = openLmdbOutbox(dir, 64 * 1024 ** 2)
    expect(outbox.confirmedThrough()).toBe(3)
    expect(outbox.peek(10, 1024).map((e) => [e.key, e.name, [...e.update]])).toEqual([[6, 'a', [4, 5]]])
    await outbox.remove([6])
    expect(outbox.confirmedThrough()).toBe(6)
    await outbox.close()
  })
})
