import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
