/**
 * The DocStore contract: one suite that every adapter runs (see doc-store.ts for the rules).
 * Usage: `describeDocStoreContract('lmdb', async () => ({ store, reopen, cleanup }))`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { StoreClosedError, type DocStore } from '../doc-store.ts'

export interface ContractHarness {
  store: DocStore
  /** Closes the store and opens it again on the same data; omitted for non-durable adapters. */
  reopen?: () => Promise<DocStore>
  cleanup: () => Promise<void>
}

const bytes = (...xs: number[]) => Uint8Array.from(xs)

function yUpdate(key: string, value: string, doc = new Y.Doc()): Uint8Array {
  let captured: Uint8Array | null = null
  doc.once('update', (u: Uint8Array) => (captured = u))
  doc.getMap('m').set(key, value)
  return captured!
}

export function describeDocStoreContract(label: string, makeHarness: () => Promise<ContractHarness>): void {
  describe(`DocStore contract: ${label}`, () => {
    let h: ContractHarness
    let store: DocStore
    beforeEach(async () => {
      h = await makeHarness()
      store = h.store
    })
    afterEach(async () => {
      await store.close()
      await h.cleanup()
    })

    it('loads null for a document that was never written', async () => {
      expect(await store.load('nope')).toBeNull()
      expect(await store.info('nope')).toBeNull()
    })

    it('appends in order and loads the log back byte for byte', async () => {
      await store.append([{ name: 'a', update: bytes(1, 2, 3) }])
      await store.append([
        { name: 'a', update: bytes(0, 0, 255) },
        { name: 'b', update: bytes(9) },
        { name: 'a', update: bytes(4) },
      ])
      const a = await store.load('a')
      expect(a?.updates.map((u) => [...u])).toEqual([[1, 2, 3], [0, 0, 255], [4]])
      expect(a?.snapshot).toBeNull()
      expect(a?.throughSeq).toBe(3)
      expect((await store.load('b'))?.updates.map((u) => [...u])).toEqual([[9]])
    })

    it('keeps its own copy: mutating the caller buffer after append changes nothing', async () => {
      const u = bytes(7, 7, 7)
      await store.append([{ name: 'a', update: u }])
      u.fill(0)
      expect([...(await store.load('a'))!.updates[0]!]).toEqual([7, 7, 7])
    })

    it('keeps names with slashes and similar prefixes apart', async () => {
      await store.append([
        { name: 'site/a', update: bytes(1) },
        { name: 'site/ab', update: bytes(2) },
        { name: 'site', update: bytes(3) },
      ])
      expect((await store.load('site/a'))!.updates.map((u) => [...u])).toEqual([[1]])
      expect((await store.load('site'))!.updates.map((u) => [...u])).toEqual([[3]])
    })

    it('compacts: snapshot replaces the merged log, later entries stay, sequence keeps growing', async () => {
      const doc = new Y.Doc()
      const u1 = yUpdate('k1', 'v1', doc)
      const u2 = yUpdate('k2', 'v2', doc)
      await store.append([
        { name: 'd', update: u1 },
        { name: 'd', update: u2 },
      ])
      const loaded = (await store.load('d'))!
      expect(loaded.basis).toEqual({ version: 0, seqs: [1, 2] })
      const u3 = yUpdate('k3', 'v3', doc)
      await store.append([{ name: 'd', update: u3 }]) // arrives while "compacting"
      const merged = Y.mergeUpdates([...loaded.updates])
      expect(await store.compact('d', merged, Y.encodeStateVectorFromUpdate(merged), loaded.basis)).toBe(true)

      const after = (await store.load('d'))!
      expect(after.basis.version).toBeGreaterThan(0)
      expect(after.updates).toHaveLength(1)
      expect([...after.snapshotStateVector!]).toEqual([...Y.encodeStateVectorFromUpdate(merged)])
      const replica = new Y.Doc()
      Y.applyUpdate(replica, after.snapshot!)
      for (const u of after.updates) Y.applyUpdate(replica, u)
      expect(replica.getMap('m').toJSON()).toEqual({ k1: 'v1', k2: 'v2', k3: 'v3' })

      await store.append([{ name: 'd', update: yUpdate('k4', 'v4', doc) }])
      expect((await store.load('d'))!.throughSeq).toBe(4)
      expect((await store.info('d'))!.logLength).toBe(2)
    })

    it('compacts a long log completely, leaving exactly the entries it did not read', async () => {
      for (let i = 1; i <= 45; i++)
        await store.append([
          { name: 'long', update: bytes(i) },
          { name: 'other', update: bytes(i) },
        ])
      const read = (await store.load('long'))!
      for (let i = 46; i <= 60; i++)
        await store.append([
          { name: 'long', update: bytes(i) },
          { name: 'other', update: bytes(i) },
        ])
      expect(await store.compact('long', bytes(0), bytes(0), read.basis)).toBe(true)
      const long = (await store.load('long'))!
      expect(long.updates.map((u) => u[0])).toEqual([46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60])
      expect((await store.info('long'))!.logLength).toBe(15)
      expect((await store.load('other'))!.updates).toHaveLength(60)
      expect(await store.delete('long')).toBe(true)
      expect(await store.info('long')).toBeNull()
    })

    it('writes a compaction only over the snapshot it was read on (never rolls back, never races)', async () => {
      await store.append([1, 2].map((n) => ({ name: 'd', update: bytes(n) })))
      const older = (await store.load('d'))!
      await store.append([{ name: 'd', update: bytes(3) }])
      const newer = (await store.load('d'))!
      const twin = (await store.load('d'))!
      expect(await store.compact('d', bytes(9, 9), bytes(1), newer.basis)).toBe(true)
      expect(await store.compact('d', bytes(8), bytes(1), older.basis)).toBe(false) // stale
      expect(await store.compact('d', bytes(7), bytes(1), twin.basis)).toBe(false) // lost the race
      const d = (await store.load('d'))!
      expect([...d.snapshot!]).toEqual([9, 9])
      expect(d.updates).toHaveLength(0)
      expect(d.throughSeq).toBe(3)
    })

    it('refuses a compaction whose lease token is older than the last one that wrote (shared stores)', async (ctx) => {
      if (!store.shared) return ctx.skip()
      await store.append([{ name: 'f', update: bytes(1) }])
      expect(await store.compact('f', bytes(5), bytes(1), (await store.load('f'))!.basis, 10)).toBe(true)
      await store.append([{ name: 'f', update: bytes(2) }])
      expect(await store.compact('f', bytes(6), bytes(1), (await store.load('f'))!.basis, 9)).toBe(false)
      expect(await store.compact('f', bytes(7), bytes(1), (await store.load('f'))!.basis, 11)).toBe(true)
      expect([...(await store.load('f'))!.snapshot!]).toEqual([7])
    })

    it('lists names in ascending pages', async () => {
      await store.append(['c', 'a', 'site/x', 'b'].map((name) => ({ name, update: bytes(1) })))
      expect(await store.list({ limit: 2 })).toEqual(['a', 'b'])
      expect(await store.list({ after: 'b', limit: 2 })).toEqual(['c', 'site/x'])
      expect(await store.list({ after: 'site/x', limit: 2 })).toEqual([])
    })

    it('reports info and deletes a document completely', async () => {
      await store.append([
        { name: 'a', update: bytes(1, 2) },
        { name: 'a', update: bytes(3) },
        { name: 'b', update: bytes(4) },
      ])
      expect(await store.info('a')).toMatchObject({ name: 'a', logLength: 2, logBytes: 3, snapshotBytes: 0, throughSeq: 2 })
      expect(await store.delete('a')).toBe(true)
      expect(await store.delete('a')).toBe(false)
      expect(await store.load('a')).toBeNull()
      expect(await store.list({ limit: 10 })).toEqual(['b'])
    })

    it('keeps named versions, oldest first, and deletes them with the document', async () => {
      const first = await store.saveVersion('v', 'before the move', bytes(1, 2, 3, 4, 5))
      await new Promise((r) => setTimeout(r, 2))
      const second = await store.saveVersion('v', 'after', bytes(9))
      await store.saveVersion('other', 'x', bytes(7))
      expect(first).toMatchObject({ label: 'before the move', bytes: 5 })
      expect((await store.listVersions('v')).map((x) => x.id)).toEqual([first.id, second.id])
      expect([...(await store.loadVersion('v', first.id))!.state]).toEqual([1, 2, 3, 4, 5])
      expect(await store.loadVersion('v', 'nope')).toBeNull()
      await store.append([{ name: 'v', update: bytes(1) }])
      await store.delete('v')
      expect(await store.listVersions('v')).toEqual([])
      expect(await store.listVersions('other')).toHaveLength(1)
    })

    it('rejects calls after close with StoreClosedError', async () => {
      await store.close()
      await expect(store.load('a')).rejects.toBeInstanceOf(StoreClosedError)
      await expect(store.append([{ name: 'a', update: bytes(1) }])).rejects.toBeInstanceOf(StoreClosedError)
    })

    it('keeps everything across close and reopen (durable adapters)', async (ctx) => {
      if (!h.reopen) return ctx.skip()
      await store.append([{ name: 'a', update: bytes(1) }])
      const read = (await store.load('a'))!
      await store.append([{ name: 'a', update: bytes(2) }])
      expect(await store.compact('a', bytes(5), bytes(6), read.basis)).toBe(true)
      await store.append([
        { name: 'b', update: bytes(7) },
        { name: 'b', update: bytes(8) },
      ])
      store = await h.reopen()
      await store.append([{ name: 'b', update: bytes(9) }])
      expect((await store.load('b'))!.updates.map((u) => [...u])).toEqual([[7], [8], [9]])
      const a = (await store.load('a'))!
      expect([...a.snapshot!]).toEqual([5])
      expect(a.updates.map((u) => [...u])).toEqual([[2]])
      await store.append([{ name: 'a', update: bytes(3) }])
      expect((await store.load('a'))!.throughSeq).toBe(3)
    })
  })
}
