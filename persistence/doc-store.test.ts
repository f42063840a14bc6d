import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { describeDocStoreContract } from './contract.ts'
import { LmdbStore } from './lmdb-store.ts'
import { MemoryStore } from './memory-store.ts'

describeDocStoreContract('memory', async () => ({ store: new MemoryStore(), cleanup: async () => {} }))

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
