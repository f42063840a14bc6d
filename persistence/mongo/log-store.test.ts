/**
 * The shared-store protocol under crashes and races, on in-memory primitives whose hook
 * throws (a crash or an outage between two steps) or waits (a slow compactor or reader).
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { storedToDoc } from '../doc-store.ts'
import { LogStore } from './log-store.ts'
import { MemoryLogBackend, memoryLogState, type BackendOp } from '../testing/mongo-memory-backend.ts'

function editor() {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  return {
    doc,
    /** Makes `n` edits and returns their updates. */
    edit(n: number, prefix: string): Uint8Array[] {
      const from = updates.length
      for (let i = 0; i < n; i++) doc.getMap('objects').set(`${prefix}${i}`, { name: `${prefix}${i}`, payload: 'x'.repeat(40) })
      return updates.slice(from)
    },
  }
}

async function contentOf(store: LogStore, name: string): Promise<unknown> {
  return storedToDoc(await store.load(name))
    .getMap('objects')
    .toJSON()
}

async function compactOnce(store: LogStore, name: string, fence?: number): Promise<boolean> {
  const stored = (await store.load(name))!
  const doc = storedToDoc(stored)
  return store.compact(name, Y.encodeStateAsUpdate(doc), Y.encodeStateVector(doc), stored.basis, fence)
}

/** A hook that throws once, at `op`, as a crash or connection loss there would. */
function crashAt(backend: MemoryLogBackend, op: BackendOp): void {
  backend.hook = (at) => {
    if (at !== op) return
    backend.hook = null
    throw new Error(`simulated crash before ${op}`)
  }
}

/** A hook that holds the `nth` call of any of `ops` until the returned release() is called. */
function holdAt(backend: MemoryLogBackend, ops: BackendOp | BackendOp[], nth = 1): { reached: Promise<void>; release: () => void } {
  let release!: () => void
  let reached!: () => void
  const gate = new Promise<void>((r) => (release = r))
  const arrived = new Promise<void>((r) => (reached = r))
  let seen = 0
  backend.hook = async (at) => {
    if (!(Array.isArray(ops) ? ops : [ops]).includes(at) || ++seen < nth) return
    backend.hook = null
    reached()
    await gate
  }
  return { reached: arrived, release }
}

describe('shared-store protocol: crashes and races', () => {
  for (const recordBytes of [8 * 1024 * 1024, 256]) {
    const label = recordBytes === 256 ? ' (snapshot in chunks)' : ''

    it(`a crash between the snapshot switch and the log delete loses nothing${label}`, async () => {
      const backend = new MemoryLogBackend()
      const store = new LogStore(backend, { maxRecordBytes: recordBytes })
      const e = editor()
      await store.append(e.edit(30, 'a').map((update) => ({ name: 'd', update })))
      const expected = e.doc.getMap('objects').toJSON()
      crashAt(backend, 'deleteLog')
      await expect(compactOnce(store, 'd')).rejects.toThrow(/simulated crash/)
      // The new snapshot is in place and every merged record is still there: merged twice, harmlessly.
      const after = (await store.load('d'))!
      expect(after.snapshot).not.toBeNull()
      expect(after.updates).toHaveLength(30)
      expect(await contentOf(store, 'd')).toEqual(expected)
      // The next compaction (say, after a restart) cleans up.
      const restarted = new LogStore(new MemoryLogBackend(backend.state), { maxRecordBytes: recordBytes })
      expect(await compactOnce(restarted, 'd')).toBe(true)
      expect((await restarted.load('d'))!.updates).toHaveLength(0)
      expect(await contentOf(restarted, 'd')).toEqual(expected)
    })

    it(`a crash before the switch leaves the old snapshot and log intact${label}`, async () => {
      const backend = new MemoryLogBackend()
      const store = new LogStore(backend, { maxRecordBytes: recordBytes })
      const e = editor()
      await store.append(e.edit(20, 'a').map((update) => ({ name: 'd', update })))
      expect(await compactOnce(store, 'd')).toBe(true)
      await store.append(e.edit(20, 'b').map((update) => ({ name: 'd', update })))
      crashAt(backend, 'swapSnapshot')
      await expect(compactOnce(store, 'd')).rejects.toThrow(/simulated crash/)
      expect(await contentOf(store, 'd')).toEqual(e.doc.getMap('objects').toJSON())
      expect(await compactOnce(store, 'd')).toBe(true)
      expect(await contentOf(store, 'd')).toEqual(e.doc.getMap('objects').toJSON())
      // Orphaned chunks of the crashed attempt are gone after the next successful compaction.
      const sets = [...backend.state.chunks.values()].filter((s) => s.name === 'd')
      expect(sets.length).toBe(recordBytes === 256 ? 1 : 0)
    })
  }

  it('a load racing a compaction sees every update (a compaction runs between its two reads)', async () => {
    const backend = new MemoryLogBackend()
    const store = new LogStore(backend)
    const e = editor()
    await store.append(e.edit(25, 'a').map((update) => ({ name: 'd', update })))
    const hold = holdAt(backend, ['readHead', 'readLog'], 2) // the reader did one of its two reads
    const loading = store.load('d')
    await hold.reached
    expect(await compactOnce(store, 'd')).toBe(true) // switches the snapshot and deletes the log under it
    hold.release()
    const loaded = (await loading)!
    expect(loaded.snapshot).not.toBeNull()
    expect(storedToDoc(loaded).getMap('objects').toJSON()).toEqual(e.doc.getMap('objects').toJSON())
  })

  it('a load whose snapshot chunks vanish under it (a newer compaction) starts again', async () => {
    const backend = new MemoryLogBackend()
    const store = new LogStore(backend, { maxRecordBytes: 256 })
    const e = editor()
    await store.append(e.edit(25, 'a').map((update) => ({ name: 'd', update })))
    expect(await compactOnce(store, 'd')).toBe(true)
    await store.append(e.edit(25, 'b').map((update) => ({ name: 'd', update })))
    const hold = holdAt(backend, 'readChunks')
    const loading = store.load('d')
    await hold.reached
    expect(await compactOnce(store, 'd')).toBe(true) // deletes the chunk set the reader is about to read
    hold.release()
    const loaded = (await loading)!
    expect(loaded.snapshot).not.toBeNull()
    expect(storedToDoc(loaded).getMap('objects').toJSON()).toEqual(e.doc.getMap('objects').toJSON())
  })

  it('two compactors on one version: the slow one writes nothing, the newer snapshot stays', async () => {
    const backend = new MemoryLogBackend()
    const store = new LogStore(backend)
    const e = editor()
    await store.append(e.edit(10, 'a').map((update) => ({ name: 'd', update })))
    const slowInput = (await store.load('d'))! // the slow compactor read 10 records
    await store.append(e.edit(10, 'b').map((update) => ({ name: 'd', update })))
    expect(await compactOnce(store, 'd', 2)).toBe(true) // the fast one (newer lease) merged all 20
    const slow = new Y.Doc()
    for (const u of slowInput.updates) Y.applyUpdate(slow, u)
    // Its lease expired long ago, its input is old: neither version nor token lets it write.
    expect(await store.compact('d', Y.encodeStateAsUpdate(slow), Y.encodeStateVector(slow), slowInput.basis, 1)).toBe(false)
    expect(await contentOf(store, 'd')).toEqual(e.doc.getMap('objects').toJSON())
    expect(Object.keys((await contentOf(store, 'd')) as object)).toHaveLength(20)
  })

  it('ignores a record with a part missing (an insert cut short) and keeps the rest', async () => {
    const state = memoryLogState()
    const store = new LogStore(new MemoryLogBackend(state), { maxRecordBytes: 16 })
    const e = editor()
    await store.append(e.edit(3, 'a').map((update) => ({ name: 'd', update })))
    const before = await contentOf(store, 'd')
    // A record of three parts of which only the first arrived.
    state.log.get('d')!.push({ name: 'd', seq: 99, part: 0, parts: 3, bytes: Uint8Array.of(1, 2, 3) })
    const loaded = (await store.load('d'))!
    expect(loaded.basis.seqs).not.toContain(99)
    expect(await contentOf(store, 'd')).toEqual(before)
  })

  it('two first appends racing on a new document get distinct sequence numbers', async () => {
    const store = new LogStore(new MemoryLogBackend())
    await Promise.all([store.append([{ name: 'n', update: Uint8Array.of(1) }]), store.append([{ name: 'n', update: Uint8Array.of(2) }])])
    const loaded = (await store.load('n'))!
    expect(loaded.basis.seqs).toEqual([1, 2])
  })
})
