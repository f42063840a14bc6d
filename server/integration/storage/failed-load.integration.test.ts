/**
 * A document whose load fails is never served and never written over: its joiners are
 * closed with the retryable DOCUMENT_UNAVAILABLE code, nothing is appended for it, and
 * once storage recovers it loads with its original content. In-process server on a real
 * LMDB store wrapped with injected load failures.
 */
import { rm } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LmdbStore } from '../../../persistence/lmdb-store.ts'
import type { AppendEntry, DocStore, StoredDoc } from '../../../persistence/doc-store.ts'
import { CloseCodes } from '../../../shared/protocol/close-codes.ts'
import { encodeUpdate } from '../../../shared/protocol/messages.ts'
import * as Y from 'yjs'
import { createAtrium, type Atrium } from '../../atrium.ts'
import { configWith } from '../../config.ts'
import { createLogger } from '../../log.ts'
import { eventually, provider, rawClient, synced } from '../../../load-tests/harness/clients.ts'
import { tempDir } from '../../../load-tests/harness/server-process.ts'

class FlakyStore implements DocStore {
  readonly kind = 'flaky-lmdb'
  failLoads = new Set<string>()
  slowLoads = new Set<string>()
  failAppends = false
  appended: AppendEntry[] = []
  constructor(private readonly inner: DocStore) {}
  load(name: string): Promise<StoredDoc | null> {
    // Injected latency, not waits. Fails after a while, like a timeout, so joiners arriving meanwhile share the failing load.
    if (this.failLoads.has(name)) return new Promise((_, reject) => setTimeout(() => reject(new Error('injected: storage unreachable')), 300))
    // Slow, so frames queue on the connections while the document loads.
    if (this.slowLoads.has(name)) return new Promise((resolve) => setTimeout(() => resolve(this.inner.load(name)), 500))
    return this.inner.load(name)
  }
  append(entries: readonly AppendEntry[]) {
    if (this.failAppends) return Promise.reject(new Error('injected: disk full'))
    this.appended.push(...entries)
    return this.inner.append(entries)
  }
  compact = (...a: Parameters<DocStore['compact']>) => this.inner.compact(...a)
  list = (...a: Parameters<DocStore['list']>) => this.inner.list(...a)
  info = (...a: Parameters<DocStore['info']>) => this.inner.info(...a)
  delete = (...a: Parameters<DocStore['delete']>) => this.inner.delete(...a)
  saveVersion = (...a: Parameters<DocStore['saveVersion']>) => this.inner.saveVersion(...a)
  listVersions = (...a: Parameters<DocStore['listVersions']>) => this.inner.listVersions(...a)
  loadVersion = (...a: Parameters<DocStore['loadVersion']>) => this.inner.loadVersion(...a)
  close = () => this.inner.close()
}

describe('failed document load', () => {
  let dir: string
  let inner: LmdbStore
  let store: FlakyStore
  let server: Atrium
  let url: string
  const name = 'doc/precious'

  beforeAll(async () => {
    dir = await tempDir()
    inner = new LmdbStore({ path: dir, mapSize: 256 * 1024 ** 2 })
    const seed = new Y.Doc()
    seed.getMap('objects').set('b1', { type: 'building', name: 'HQ' })
    await inner.append([{ name, update: Y.encodeStateAsUpdate(seed) }])
    store = new FlakyStore(inner)
    server = await createAtrium({
      config: configWith({ PORT: 0, HOST: '127.0.0.1', DATA_DIR: dir, DOC_UNLOAD_GRACE_MS: 200, PRELOAD_QUEUE_MESSAGES: 10, MAX_MESSAGE_BYTES: 4096 }),
      logger: createLogger({ level: 'silent', pretty: false }),
      store,
    })
    url = `ws://127.0.0.1:${server.port}`
  })
  afterAll(async () => {
    await server.close()
    await inner.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('closes every joiner of the one shared load with the retryable code and persists nothing over the stored data', async () => {
    store.failLoads.add(name)
    const clients = await Promise.all(Array.from({ length: 5 }, () => rawClient(`${url}/${name}`)))
    // A client that would seed an "empty" document, as editors do when they see nothing.
    const empty = new Y.Doc()
    empty.getMap('objects').set('b1', { type: 'building', name: 'overwritten!' })
    clients[0]!.send(encodeUpdate(Y.encodeStateAsUpdate(empty)))
    for (const c of clients) {
      const { code } = await c.closed
      expect(code).toBe(CloseCodes.DOCUMENT_UNAVAILABLE.code)
    }
    expect(CloseCodes.DOCUMENT_UNAVAILABLE.retry).toBe(true)
    expect(store.appended.filter((e) => e.name === name)).toHaveLength(0)
    expect(server.registry.peek(name)).toBeUndefined()
    expect(await server.metrics.storageLoadFailures.get().then((m) => m.values[0]?.value)).toBe(1)
  })

  it('bounds what a connection may queue while its document loads, in messages and bytes', async () => {
    store.slowLoads.add('doc/slow')
    const many = await rawClient(`${url}/doc/slow`)
    const big = await rawClient(`${url}/doc/slow`)
    const patient = await rawClient(`${url}/doc/slow`)
    for (let i = 0; i < 11; i++) many.send(encodeUpdate(Y.encodeStateAsUpdate(new Y.Doc())))
    for (let i = 0; i < 3; i++) big.send(new Uint8Array(4000)) // 12,000 bytes > 2 × MAX_MESSAGE_BYTES
    patient.send(encodeUpdate(Y.encodeStateAsUpdate(new Y.Doc())))
    expect((await many.closed).code).toBe(CloseCodes.QUEUE_FULL.code)
    expect((await big.closed).code).toBe(CloseCodes.QUEUE_FULL.code)
    // A client within bounds is served once the load finishes (it receives sync step 1).
    await new Promise<void>((resolve) => patient.ws.once('message', () => resolve()))
    expect(patient.ws.readyState).toBe(patient.ws.OPEN)
    patient.ws.close()
    store.slowLoads.delete('doc/slow')
  })

  it('keeps a document in memory while its writes fail; a returning client is served, and it lands once storage recovers', async () => {
    store.failAppends = true
    const editor = provider(url, 'doc/outage')
    await synced(editor)
    editor.doc.getMap('objects').set('z1', { type: 'zone', name: 'written during an outage' })
    await eventually(
      'write failing',
      async () => (await fetch(`http://127.0.0.1:${server.port}/readyz`)).status,
      (s) => s === 503,
    )
    editor.destroy()
    // A negative check: real time past the 200 ms unload grace (nothing observable says the unload began), and the document must still be loaded.
    await new Promise((r) => setTimeout(r, 400))
    expect(server.registry.peek('doc/outage')).toBeDefined()
    const back = provider(url, 'doc/outage')
    await synced(back)
    expect(back.doc.getMap('objects').get('z1')).toEqual({ type: 'zone', name: 'written during an outage' })
    back.destroy()
    store.failAppends = false
    await eventually(
      'written after recovery',
      () => inner.load('doc/outage'),
      (d) => d !== null,
    )
    const replica = new Y.Doc()
    for (const u of (await inner.load('doc/outage'))!.updates) Y.applyUpdate(replica, u)
    expect(replica.getMap('objects').get('z1')).toEqual({ type: 'zone', name: 'written during an outage' })
    // Ready again once the group commit has seen its append succeed (the data can be readable in LMDB a moment before).
    await eventually(
      'ready again',
      async () => (await fetch(`http://127.0.0.1:${server.port}/readyz`)).status,
      (s) => s === 200,
    )
  })

  it('serves the original content once storage recovers', async () => {
    store.failLoads.delete(name)
    const p = provider(url, name)
    await synced(p)
    expect(p.doc.getMap('objects').get('b1')).toEqual({ type: 'building', name: 'HQ' })
    p.destroy()
  })
})
