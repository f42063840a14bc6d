/**
 * MongoDB mode end to end:
 * - a real server process whose MONGODB_URL points where nothing listens: it starts, says
 *   so in /readyz and /metrics, closes joiners with the retryable code and never crashes;
 * - an in-process server whose shared store (the MongoDB protocol on in-memory primitives)
 *   goes down while documents are loaded: they keep taking edits, queue them locally, stay
 *   loaded until shipped, and everything lands once it is back;
 * - a server process (local outbox + an LMDB stand-in for MongoDB) killed with SIGKILL in
 *   the middle of shipping, and in the middle of a compaction: a restart has every update.
 */
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { storedToDoc } from '../../../persistence/doc-store.ts'
import { LogStore } from '../../../persistence/mongo/log-store.ts'
import { MemoryLogBackend } from '../../../persistence/testing/mongo-memory-backend.ts'
import { openLmdbOutbox } from '../../../persistence/outbox.ts'
import { ShippingStore } from '../../../persistence/shipping-store.ts'
import { CloseCodes } from '../../../shared/protocol/close-codes.ts'
import { createAtrium } from '../../atrium.ts'
import { configWith } from '../../config.ts'
import { createLogger } from '../../log.ts'
import { eventually, provider, rawClient, synced, untilDoc } from '../../../load-tests/harness/clients.ts'
import { LmdbLogBackend } from '../../../persistence/testing/lmdb-log-backend.ts'
import { freePort } from '../../../load-tests/harness/redis.ts'
import { killAllServers, metric, startServerProcess, tempDir } from '../../../load-tests/harness/server-process.ts'

const TIERED_NODE = fileURLToPath(new URL('../../testing/tiered-node.ts', import.meta.url))
const dirs: string[] = []
afterAll(async () => {
  killAllServers()
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

async function dir(): Promise<string> {
  const d = await tempDir()
  dirs.push(d)
  return d
}

const readyz = async (httpUrl: string) => {
  const res = await fetch(`${httpUrl}/readyz`)
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, unknown> } }
}

describe('MongoDB mode', () => {
  it('with MongoDB unreachable: starts, reports it, refuses unloadable documents with the retryable code, never crashes', async () => {
    const port = await freePort() // nothing listens there
    const server = await startServerProcess({ MONGODB_URL: `mongodb://127.0.0.1:${port}/?directConnection=true`, MONGODB_TIMEOUT_MS: 300 })
    const ready = await eventually(
      'readyz reports MongoDB down',
      () => readyz(server.httpUrl),
      (r) => r.body.checks.mongodb === 'down',
    )
    expect(ready.status).toBe(200)
    expect(ready.body.status).toBe('degraded')
    await eventually(
      'a MongoDB error counted',
      () => metric(server.httpUrl, 'atrium_mongodb_errors_total'),
      (n) => n > 0,
    )
    expect(await metric(server.httpUrl, 'atrium_mongodb_up')).toBe(0)

    for (let i = 0; i < 3; i++) {
      const client = await rawClient(`${server.wsUrl}/doc/unreachable-${i}`)
      const { code } = await client.closed
      expect(code).toBe(CloseCodes.DOCUMENT_UNAVAILABLE.code)
    }
    expect(CloseCodes.DOCUMENT_UNAVAILABLE.retry).toBe(true)
    expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200)
    expect(server.proc.exitCode).toBeNull()
    const { code } = await server.kill('SIGTERM')
    expect(code).toBe(0)
  })

  it('loaded documents keep taking edits while the shared store is down; they stay loaded until shipped; everything lands', async () => {
    const backend = new MemoryLogBackend()
    let down = false
    backend.hook = () => {
      if (down) throw new Error('injected: MongoDB unreachable')
    }
    const remote = new LogStore(backend)
    const dataDir = await dir()
    const store = new ShippingStore({ outbox: openLmdbOutbox(dataDir, 256 * 1024 ** 2), remote, minBackoffMs: 20, maxBackoffMs: 100 })
    const settled = vi.spyOn(store, 'settled')
    const server = await createAtrium({
      config: configWith({ PORT: 0, HOST: '127.0.0.1', DATA_DIR: await tempDir(), DOC_UNLOAD_GRACE_MS: 100 }),
      logger: createLogger({ level: 'silent', pretty: false }),
      store,
    })
    const url = `ws://127.0.0.1:${server.port}`
    const http = `http://127.0.0.1:${server.port}`
    try {
      const a = provider(url, 'doc/live')
      const b = provider(url, 'doc/live')
      await Promise.all([synced(a), synced(b)])
      a.doc.getMap('objects').set('before', { n: 0 })
      await untilDoc(b.doc, 'first edit', (d) => d.getMap('objects').has('before'))

      down = true
      for (let i = 0; i < 50; i++) a.doc.getMap('objects').set(`during${i}`, { n: i })
      await untilDoc(b.doc, 'edits during the outage', (d) => d.getMap('objects').has('during49'))
      const r = await eventually(
        'readyz reports lagging shipping',
        () => readyz(http),
        (x) => x.body.checks.shipping === 'lagging',
      )
      expect(r.status).toBe(200)
      // A document that is not loaded cannot be served from a partial copy.
      const other = await rawClient(`${url}/doc/not-loaded`)
      expect((await other.closed).code).toBe(CloseCodes.DOCUMENT_UNAVAILABLE.code)

      const expected = a.doc.getMap('objects').toJSON()
      a.destroy()
      b.destroy()
      // Past the unload grace: the unload waits for shipping.
      await eventually(
        'the unload waiting for shipping',
        async () => settled.mock.calls.some(([name]) => name === 'doc/live'),
        (waiting) => waiting,
      )
      expect(server.registry.peek('doc/live')).toBeDefined()
      expect(store.outbox.has('doc/live')).toBe(true)

      down = false
      await eventually(
        'shipped and unloaded',
        async () => server.registry.peek('doc/live') === undefined && store.outbox.entries === 0,
        (ok) => ok,
      )
      const stored = (await remote.load('doc/live'))!
      const replica = storedToDoc(stored)
      expect(replica.getMap('objects').toJSON()).toEqual(expected)
      expect(Object.keys(expected)).toHaveLength(51)
    } finally {
      await server.close()
      await store.close()
    }
  })

  /** Waits until the server has received `count` updates and made every one durable locally. */
  async function durable(httpUrl: string, count: number): Promise<void> {
    await eventually(
      `${count} edits received`,
      () => metric(httpUrl, 'atrium_messages_received_total', { type: 'update' }),
      (n) => n >= count,
    )
    await eventually(
      `${count} edits durable locally`,
      () => metric(httpUrl, 'atrium_storage_pending_updates'),
      (n) => n === 0,
    )
  }

  /** Edits through a y-websocket client until the server has made them durable locally; returns the content. */
  async function editUntilDurable(wsUrl: string, httpUrl: string, name: string, count: number): Promise<unknown> {
    const p = provider(wsUrl, name)
    await synced(p)
    for (let i = 0; i < count; i++) {
      p.doc.getMap('objects').set(`o${i}`, { type: 'component', name: `object ${i}`, at: [i, i * 2, 0] })
      if (i % 10 === 9) await durable(httpUrl, i + 1) // each ten edits durable before the next: several group commits, several batches
    }
    const content = p.doc.getMap('objects').toJSON()
    await durable(httpUrl, count)
    p.destroy()
    return content
  }

  async function loadVia(wsUrl: string, name: string): Promise<unknown> {
    const p = provider(wsUrl, name)
    await synced(p)
    const content = p.doc.getMap('objects').toJSON()
    p.destroy()
    return content
  }

  async function sharedContent(remoteDir: string, name: string): Promise<unknown> {
    const store = new LogStore(new LmdbLogBackend(remoteDir))
    try {
      return storedToDoc(await store.load(name))
        .getMap('objects')
        .toJSON()
    } finally {
      await store.close()
    }
  }

  it('SIGKILL in the middle of shipping, then a restart: every update is there, and reaches the shared store', async () => {
    const [dataDir, remoteDir] = [await dir(), await dir()]
    const env = { TEST_REMOTE_DIR: remoteDir, TEST_SHIP_DELAY_MS: 400, TEST_SHIP_BATCH_ENTRIES: 1, COMPACT_THRESHOLD: 1_000_000 }
    const first = await startServerProcess(env, dataDir, { entry: TIERED_NODE })
    const expected = await editUntilDurable(first.wsUrl, first.httpUrl, 'doc/ship', 120)
    // Shipping is underway and not finished: some batches are in the shared store, some only here.
    await eventually(
      'part shipped',
      () => metric(first.httpUrl, 'atrium_shipped_entries_total'),
      (n) => n > 0,
    )
    expect(await metric(first.httpUrl, 'atrium_ship_queue_entries')).toBeGreaterThan(0)
    await first.kill('SIGKILL')

    const second = await startServerProcess({ ...env, TEST_SHIP_DELAY_MS: 0 }, dataDir, { entry: TIERED_NODE })
    expect(await loadVia(second.wsUrl, 'doc/ship')).toEqual(expected)
    await eventually(
      'queue drained',
      () => metric(second.httpUrl, 'atrium_ship_queue_entries'),
      (n) => n === 0,
    )
    await second.kill('SIGKILL')
    expect(await sharedContent(remoteDir, 'doc/ship')).toEqual(expected)
  })

  it("SIGKILL between a compaction's snapshot switch and its log delete, then a restart: every update is there", async () => {
    const [dataDir, remoteDir] = [await dir(), await dir()]
    const env = { TEST_REMOTE_DIR: remoteDir, TEST_COMPACT_PAUSE_MS: 60_000, TEST_SHIP_BATCH_ENTRIES: 1, COMPACT_THRESHOLD: 5 }
    const first = await startServerProcess(env, dataDir, { entry: TIERED_NODE })
    const expected = await editUntilDurable(first.wsUrl, first.httpUrl, 'doc/compact', 120)
    await eventually(
      'compaction switched the snapshot',
      async () => existsSync(join(remoteDir, 'compaction-switched')),
      (ok) => ok,
    )
    await first.kill('SIGKILL')

    const second = await startServerProcess({ ...env, TEST_COMPACT_PAUSE_MS: 0 }, dataDir, { entry: TIERED_NODE })
    expect(await loadVia(second.wsUrl, 'doc/compact')).toEqual(expected)
    await eventually(
      'queue drained',
      () => metric(second.httpUrl, 'atrium_ship_queue_entries'),
      (n) => n === 0,
    )
    await second.kill('SIGKILL')
    expect(await sharedContent(remoteDir, 'doc/compact')).toEqual(expected)
  })
})
