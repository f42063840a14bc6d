/**
 * The first person to open a large document gets it from the warm full state (parts merged and
 * cut in a worker, documents/warm-state.ts): right after someone uploaded it, and after a restart,
 * when it comes from storage. Real server, real LMDB store and worker threads, unchanged
 * y-websocket clients; what they end with is compared with the original, object by object.
 */
import { rm } from 'node:fs/promises'
import { afterAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { provider, synced, untilDoc } from '../../../load-tests/harness/clients.ts'
import { tempDir } from '../../../load-tests/harness/server-process.ts'
import { LmdbStore } from '../../../persistence/lmdb-store.ts'
import { generateSite } from '../../../shared/schema/generate.ts'
import { type Atrium, createAtrium } from '../../atrium.ts'
import { configWith } from '../../config.ts'
import { createLogger } from '../../log.ts'

let dir: string
const opened: { server: Atrium; store: LmdbStore }[] = []

async function start(): Promise<{ url: string; server: Atrium; store: LmdbStore }> {
  const store = new LmdbStore({ path: dir, mapSize: 1024 ** 3 })
  const server = await createAtrium({
    // Backpressure of 1 MB: chunks of 256 KB, so a 2 MB building is many of them.
    config: configWith({ PORT: 0, HOST: '127.0.0.1', DATA_DIR: dir, MAX_BACKPRESSURE_BYTES: 1024 * 1024 }),
    logger: createLogger({ level: 'silent', pretty: false }),
    store,
  })
  opened.push({ server, store })
  return { url: `ws://127.0.0.1:${server.port}`, server, store }
}

async function stop(): Promise<void> {
  const { server, store } = opened.pop()!
  await server.close()
  await store.close()
}

afterAll(async () => {
  while (opened.length > 0) await stop()
  await rm(dir, { recursive: true, force: true })
})

describe('the first opener of a large document', () => {
  it('gets all of it right after the upload, with later edits, and again from storage after a restart', async () => {
    dir = await tempDir()
    const original = new Y.Doc()
    generateSite(original, { objects: 8000 })
    const size = Y.encodeStateAsUpdate(original).length
    expect(size).toBeGreaterThan(1024 * 1024)
    const name = 'big/first-open' // not a site document: the late edit below is a plain value
    const objects = () => original.getMap('objects').toJSON()

    const a = await start()
    const uploader = provider(a.url, name, original)
    await synced(uploader)
    // Fresh clients: one opens the document as soon as it is there, one after another edit.
    const first = provider(a.url, name)
    await untilDoc(first.doc, 'the whole building', (d) => d.getMap('objects').size === original.getMap('objects').size, 30_000)
    original.getMap('objects').set('late', { type: 'space', parentId: null, name: 'after the first opener' })
    const second = provider(a.url, name)
    await untilDoc(second.doc, 'the building with the late edit', (d) => d.getMap('objects').has('late'), 30_000)
    await untilDoc(first.doc, 'the late edit at the first opener too', (d) => d.getMap('objects').has('late'))
    expect(first.doc.getMap('objects').toJSON()).toEqual(objects())
    expect(second.doc.getMap('objects').toJSON()).toEqual(objects())
    for (const p of [uploader, first, second]) p.destroy()
    await stop()

    const b = await start()
    const afterRestart = provider(b.url, name)
    await synced(afterRestart, 30_000)
    expect(afterRestart.doc.getMap('objects').toJSON()).toEqual(objects())
    expect(Y.encodeStateVector(afterRestart.doc)).toEqual(Y.encodeStateVector(original))
    afterRestart.destroy()
  })
})
