import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { describeDocStoreContract } from './testing/contract.ts'
import { LmdbStore } from './lmdb-store.ts'
import { MemoryStore } from './testing/memory-store.ts'
import { LogStore } from './mongo/log-store.ts'
import { createMongoStore } from './mongo/mongo-backend.ts'
import { MemoryLogBackend, memoryLogState } from './testing/mongo-memory-backend.ts'
import { LmdbLogBackend } from './testing/lmdb-log-backend.ts'

describeDocStoreContract('memory', async () => ({ store: new MemoryStore(), cleanup: async () => {} }))
describeDocStoreContract('memory (shared)', async () => ({ store: new MemoryStore(true), cleanup: async () => {} }))

// The MongoDB protocol on in-memory primitives. Records of 2 bytes: every multi-byte update
// and snapshot in the suite is split into parts and chunks, so reassembly is exercised too.
describeDocStoreContract('shared-store protocol (memory primitives, 2-byte records)', async () => {
  const state = memoryLogState()
  let store = new LogStore(new MemoryLogBackend(state), { maxRecordBytes: 2 })
  return {
    store,
    reopen: async () => {
      await store.close()
      return (store = new LogStore(new MemoryLogBackend(state), { maxRecordBytes: 2 }))
    },
    cleanup: async () => {},
  }
})

// The LMDB primitives that stand in for MongoDB in the process-level crash tests.
describeDocStoreContract('shared-store protocol (LMDB primitives, test harness)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'atrium-loglmdb-'))
  let store = new LogStore(new LmdbLogBackend(dir), { maxRecordBytes: 2 })
  return {
    store,
    reopen: async () => {
      await store.close()
      return (store = new LogStore(new LmdbLogBackend(dir), { maxRecordBytes: 2 }))
    },
    cleanup: async () => {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
})

// The MongoDB adapter against a real server: MONGODB_URL=mongodb://… npm test
const mongoUrl = process.env.MONGODB_URL
if (mongoUrl) {
  describeDocStoreContract(`mongodb (${mongoUrl.replace(/\/\/[^@/]*@/, '//…@')})`, async () => {
    const db = `atrium_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
    const open = () => createMongoStore({ url: mongoUrl, db, timeoutMs: 5000, w: 1 })
    let mongo = open()
    await mongo.backend.client.db(db).dropDatabase()
    return {
      store: mongo.store,
      reopen: async () => {
        await mongo.store.close()
        mongo = open()
        return mongo.store
      },
      cleanup: async () => {
        const cleaner = open()
        await cleaner.backend.client.db(db).dropDatabase()
        await cleaner.store.close()
      },
    }
  })
} else {
  console.log('MongoDB contract suite skipped: MONGODB_URL is not set (run MONGODB_URL=mongodb://127.0.0.1:27017 npm test against a real server)')
  describe.skip('DocStore contract: mongodb (MONGODB_URL not set)', () => it('runs only with MONGODB_URL', () => {}))
}

describeDocStoreContract('lmdb', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'atrium-lmdb-'))
  let store = new LmdbStore({ path: dir, mapSize: 256 * 1024 ** 2 })
  return {
    store,
    reopen: async () => {
      await store.close()
      return (store = new LmdbStore({ path: dir, mapSize: 256 * 1024 ** 2 }))
    },
    cleanup: async () => {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
})

describe('LmdbStore long logs', () => {
  it('loads and compacts a log longer than one slice (read and trimmed in slices, yielding in between)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atrium-lmdb-'))
    const store = new LmdbStore({ path: dir, mapSize: 256 * 1024 ** 2 })
    try {
      for (let i = 0; i < 12_000; i += 1000)
        await store.append(Array.from({ length: 1000 }, (_, j) => ({ name: 'long', update: Uint8Array.of((i + j) % 251) })))
      const read = (await store.load('long'))!
      expect(read.updates).toHaveLength(12_000)
      expect(read.basis.seqs.at(-1)).toBe(12_000)
      await store.append([{ name: 'long', update: Uint8Array.of(7) }])
      expect(await store.compact('long', Uint8Array.of(1), Uint8Array.of(0), read.basis)).toBe(true)
      const after = (await store.load('long'))!
      expect(after.updates.map((u) => [...u])).toEqual([[7]])
      expect(after.throughSeq).toBe(12_001)
      expect(after.basis.version).toBe(1)
    } finally {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('LmdbStore paths', () => {
  // lmdb-js guesses "file, not directory" from a dot in the name; DATA_DIR is always a directory.
  it.each([['existing'], ['new']])('keeps its files inside a %s directory whose name has a dot', async (kind) => {
    const parent = await mkdtemp(join(tmpdir(), 'atrium-lmdb-'))
    const dir = join(parent, 'atrium.data')
    if (kind === 'existing') await mkdir(dir)
    try {
      const store = new LmdbStore({ path: dir, mapSize: 64 * 1024 ** 2 })
      await store.append([{ name: 'd', update: Uint8Array.of(1, 2, 3) }])
      await store.close()
      expect((await stat(dir)).isDirectory()).toBe(true)
      expect(await readdir(dir)).toContain('data.mdb')
      const again = new LmdbStore({ path: dir, mapSize: 64 * 1024 ** 2 })
      expect((await again.load('d'))?.updates.length).toBe(1)
      await again.close()
    } finally {
      await rm(parent, { recursive: true, force: true })
    }
  })
})
