/**
 * Acknowledgement = durability: a HocuspocusProvider's `unsyncedChanges` stays above 0 while
 * storage is failing (its update is applied and fanned out meanwhile) and reaches 0 only once the
 * update is in the store. The store is the real LMDB store, with appends made to fail on demand.
 */
import { rm } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type * as Y from 'yjs'
import { eventually, hocuspocusProvider, hocuspocusSynced, on, provider, synced, until, untilDoc } from '../../../load-tests/harness/clients.ts'
import { metric, tempDir } from '../../../load-tests/harness/server-process.ts'
import { type AppendEntry, storedToDoc } from '../../../persistence/doc-store.ts'
import { LmdbStore } from '../../../persistence/lmdb-store.ts'
import { type Atrium, createAtrium } from '../../atrium.ts'
import { configWith } from '../../config.ts'
import { createLogger } from '../../log.ts'

/** The real store, whose appends fail while `failing` is set; remembers which documents' appends succeeded. */
class FailingAppends extends LmdbStore {
  failing = false
  readonly durable = new Set<string>()
  override async append(entries: readonly AppendEntry[]): Promise<void> {
    if (this.failing) throw new Error('injected: disk full')
    await super.append(entries)
    for (const e of entries) this.durable.add(e.name)
  }
}

describe('SyncStatus is sent once the update is durable', () => {
  let dir: string
  let store: FailingAppends
  let server: Atrium
  let url: string
  let http: string
  beforeAll(async () => {
    dir = await tempDir()
    store = new FailingAppends({ path: dir, mapSize: 256 * 1024 ** 2 })
    server = await createAtrium({
      config: configWith({ PORT: 0, HOST: '127.0.0.1', DATA_DIR: dir, FLUSH_INTERVAL_MS: 5 }),
      logger: createLogger({ level: 'silent', pretty: false }),
      store,
    })
    url = `ws://127.0.0.1:${server.port}`
    http = `http://127.0.0.1:${server.port}`
  })
  afterAll(async () => {
    await server.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })

  /** A Hocuspocus writer and a y-websocket reader of `name`, both synced, the writer's first sync acknowledged. */
  async function clients(name: string) {
    const writer = hocuspocusProvider(url, name)
    const reader = provider(url, name)
    await hocuspocusSynced(writer)
    await synced(reader)
    await until('the first sync acknowledged', () => writer.unsyncedChanges === 0, on(writer, 'unsyncedChanges'))
    return { writer, reader }
  }

  /** Makes appends fail, runs `edit` on the writer, and returns once the reader has it and two appends have failed since. */
  async function editWhileFailing(c: Awaited<ReturnType<typeof clients>>, what: string, edit: (doc: Y.Doc) => void, seen: (doc: Y.Doc) => boolean) {
    store.failing = true
    const failuresBefore = await metric(http, 'atrium_storage_flush_failures_total')
    edit(c.writer.document)
    // Applied and fanned out at once: another client has it while it is not yet on disk.
    await untilDoc(c.reader.doc, what, seen, 30_000)
    await eventually(
      'two failed appends after it',
      () => metric(http, 'atrium_storage_flush_failures_total'),
      (n) => n >= failuresBefore + 2,
    )
  }

  it('keeps unsyncedChanges above 0 while appends fail, and brings it to 0 only after the append succeeded', async () => {
    const name = 'acks/failing-store'
    const c = await clients(name)
    const { writer, reader } = c
    try {
      await editWhileFailing(
        c,
        'the write at the other client',
        (d) => d.getMap('m').set('k', 'v'),
        (d) => d.getMap('m').get('k') === 'v',
      )
      expect(writer.unsyncedChanges).toBeGreaterThan(0)
      expect(store.durable.has(name)).toBe(false)
      // Storage recovers: the acknowledgement comes, and when it does the append has succeeded.
      let durableAtAck: boolean | null = null
      writer.on('unsyncedChanges', ({ number }: { number: number }) => {
        if (number === 0 && durableAtAck === null) durableAtAck = store.durable.has(name)
      })
      store.failing = false
      await until('acknowledged after recovery', () => writer.unsyncedChanges === 0, on(writer, 'unsyncedChanges'), 30_000)
      expect(durableAtAck).toBe(true)
      // And it is really there: a fresh load of the store has it.
      expect(
        storedToDoc(await store.load(name))
          .getMap('m')
          .get('k'),
      ).toBe('v')
    } finally {
      store.failing = false
      writer.destroy()
      reader.destroy()
    }
  })

  it('does not acknowledge a large update (applied in slices over later turns) while appends fail', async () => {
    const name = 'acks/large'
    const c = await clients(name)
    const { writer, reader } = c
    try {
      // One 3 MB update: a job, not applied in the turn it arrived.
      await editWhileFailing(
        c,
        'the large text at the other client',
        (d) => d.getText('t').insert(0, 'x'.repeat(3 * 1024 * 1024)),
        (d) => d.getText('t').length === 3 * 1024 * 1024,
      )
      expect(writer.unsyncedChanges).toBeGreaterThan(0)
      store.failing = false
      await until('acknowledged after recovery', () => writer.unsyncedChanges === 0, on(writer, 'unsyncedChanges'), 30_000)
      expect(store.durable.has(name)).toBe(true)
    } finally {
      store.failing = false
      writer.destroy()
      reader.destroy()
    }
  })

  it('acknowledges every change of a burst, in order, each after its group commit', async () => {
    const name = 'acks/burst'
    const writer = hocuspocusProvider(url, name)
    try {
      await hocuspocusSynced(writer)
      let most = 0
      writer.on('unsyncedChanges', ({ number }: { number: number }) => {
        most = Math.max(most, number)
      })
      for (let i = 0; i < 200; i++) writer.document.getMap('m').set(`k${i}`, i)
      await until('all 200 acknowledged', () => writer.unsyncedChanges === 0, on(writer, 'unsyncedChanges'), 30_000)
      // They were outstanding together (the provider counts one per update sent), then all came back.
      expect(most).toBeGreaterThan(1)
      expect(store.durable.has(name)).toBe(true)
    } finally {
      writer.destroy()
    }
  })
})
