/**
 * Test harness: one Atrium in this process on port 0, over a real LMDB store in a temporary
 * directory. `close()` stops the server, closes the store and removes the directory.
 */
import { rm } from 'node:fs/promises'
import { LmdbStore } from '../../persistence/lmdb-store.ts'
import { createAtrium, type Atrium } from '../atrium.ts'
import { configWith } from '../config.ts'
import { createLogger } from '../log.ts'
import { tempDir } from '../../load-tests/harness/server-process.ts'

export interface InProcessServer {
  readonly server: Atrium
  readonly store: LmdbStore
  /** ws://127.0.0.1:<port> */
  readonly url: string
  /** http://127.0.0.1:<port> */
  readonly http: string
  close(): Promise<void>
}

export async function startInProcess(overrides: Parameters<typeof configWith>[0] = {}, mapSize = 1024 ** 3): Promise<InProcessServer> {
  const dir = await tempDir()
  const store = new LmdbStore({ path: dir, mapSize })
  const server = await createAtrium({
    config: configWith({ PORT: 0, HOST: '127.0.0.1', DATA_DIR: dir, ...overrides }),
    logger: createLogger({ level: 'silent', pretty: false }),
    store,
  })
  return {
    server,
    store,
    url: `ws://127.0.0.1:${server.port}`,
    http: `http://127.0.0.1:${server.port}`,
    close: async () => {
      await server.close()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
