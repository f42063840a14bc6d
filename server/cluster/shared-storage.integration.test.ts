/**
 * Cluster mode with a store every node shares (as with MongoDB): three
 * in-process nodes on one real redis-server, writing to one shared store (one store object,
 * or, MongoDB-style, each node's own outbox shipping to one shared log).
 * - a change is persisted once, by the node it arrived on, not by every node;
 * - when that node goes silent before its write is durable, the others persist it;
 * - two nodes never compact the same document at once (Redis lease).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { MemoryStore } from '../../persistence/testing/memory-store.ts'
import { LogStore } from '../../persistence/mongo/log-store.ts'
import { MemoryLogBackend, memoryLogState } from '../../persistence/testing/mongo-memory-backend.ts'
import { memoryOutbox } from '../../persistence/testing/memory-outbox.ts'
import { ShippingStore } from '../../persistence/shipping-store.ts'
import { storedToDoc, type AppendEntry, type DocStore } from '../../persistence/doc-store.ts'
import { createAtrium, type Atrium } from '../atrium.ts'
import { configWith } from '../config.ts'
import { tempDir } from '../../load-tests/harness/server-process.ts'
import { createLogger } from '../log.ts'
import { eventually, provider, synced, untilDoc } from '../../load-tests/harness/clients.ts'
import { startRedis, stopAllRedis, type RedisServer } from '../../load-tests/harness/redis.ts'
import type { WebsocketProvider } from 'y-websocket'

/** The shared store, recording which (client, clock) structs every append carried. */
class RecordingStore extends MemoryStore {
  readonly structs = new Map<string, number>()
  constructor() {
    super(true)
  }
  override async append(entries: readonly AppendEntry[]): Promise<void> {
    for (const { update } of entries) {
      for (const s of Y.decodeUpdate(update).structs) {
        if (!(s instanceof Y.Item)) continue
        for (let i = 0; i < s.length; i++) {
          const key = `${s.id.client}:${s.id.clock + i}`
          this.structs.set(key, (this.structs.get(key) ?? 0) + 1)
        }
      }
    }
    return super.append(entries)
  }
}

/** Node a's view of the shared store: its appends never complete (a hung write). */
function hungAppends(store: DocStore): DocStore {
  return new Proxy(store, { get: (target, prop, receiver) => (prop === 'append' ? () => new Promise(() => {}) : Reflect.get(target, prop, receiver)) })
}

let redis: RedisServer
const nodes: Atrium[] = []
const clients: WebsocketProvider[] = []
const logger = createLogger({ level: 'silent', pretty: false })

async function node(id: string, store: DocStore): Promise<Atrium> {
  const config = configWith({
    PORT: 0,
    HOST: '127.0.0.1',
    // Its own directory for what a node keeps beside the store (revoked tokens), never ./data.
    DATA_DIR: await tempDir(),
    REDIS_URL: redis.url,
    NODE_ID: id,
    CLUSTER_HEARTBEAT_MS: 100,
    CLUSTER_NODE_TIMEOUT_MS: 2000,
    SHUTDOWN_TIMEOUT_MS: 500,
  })
  const a = await createAtrium({ config, logger, store })
  nodes.push(a)
  return a
}

async function cluster(stores: DocStore[]): Promise<Atrium[]> {
  const list = await Promise.all(stores.map((s, i) => node('abc'[i]!, s)))
  for (const n of list)
    await eventually(
      '3 nodes',
      async () => n.cluster!.peers.length,
      (v) => v === 2,
    )
  return list
}

/** Bus messages of one kind a node has published. */
async function published(n: Atrium, kind: string): Promise<number> {
  return (await n.metrics.busPublished.get()).values.find((v) => v.labels.kind === kind)?.value ?? 0
}

function client(n: Atrium, name: string): { doc: Y.Doc; p: WebsocketProvider } {
  const doc = new Y.Doc()
  const p = provider(`ws://127.0.0.1:${n.port}`, name, doc)
  clients.push(p)
  return { doc, p }
}

describe('cluster mode with shared storage', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterEach(async () => {
    for (const p of clients.splice(0)) p.destroy()
    await Promise.all(nodes.splice(0).map((n) => n.close()))
  })
  afterAll(() => stopAllRedis())

  it('persists each change once, on the node it arrived on', async () => {
    const store = new RecordingStore()
    const list = await cluster([store, store, store])
    const editors = list.map((n) => client(n, 'shared/once'))
    await Promise.all(editors.map((e) => synced(e.p)))
    editors.forEach((e, i) => {
      for (let k = 0; k < 10; k++) e.doc.getMap('m').set(`n${i}-${k}`, k)
    })
    for (const e of editors) await untilDoc(e.doc, 'all 30 keys', (d) => d.getMap('m').size === 30)
    await Promise.all(list.map((n) => n.close()))
    nodes.length = 0
    // Every struct of the 30 edits is stored, and stored exactly once.
    expect(store.structs.size).toBeGreaterThanOrEqual(30)
    expect([...store.structs.values()].filter((n) => n !== 1)).toEqual([])
  }, 30_000)

  it('when the origin node goes silent before its write is durable, the others persist its updates', async () => {
    const store = new RecordingStore()
    const [a, b] = await cluster([hungAppends(store), store, store])
    const onA = client(a!, 'shared/rescue')
    const onB = client(b!, 'shared/rescue')
    await Promise.all([synced(onA.p), synced(onB.p)])
    // First make sure b is subscribed and the anti-entropy of both loads is over: an edit b gets
    // as an anti-entropy repair it stores itself (by design), and this test is about the rescue.
    // A node announces the document once subscribed to it; after both announcements the warm-up
    // reaches b on the bus, and b's answer reaches a after everything b sent before it (one
    // publisher's messages arrive in order), so a has answered every announcement and reply of b.
    await eventually(
      'a and b announced the document',
      async () => Math.min(await published(a!, 'state'), await published(b!, 'state')),
      (n) => n >= 1,
    )
    onA.doc.getMap('m').set('warm-up', 1)
    await untilDoc(onB.doc, 'the warm-up via node b', (d) => d.getMap('m').get('warm-up') === 1)
    onB.doc.getMap('m').set('warm-up-back', 1)
    await untilDoc(onA.doc, 'the answer via node a', (d) => d.getMap('m').get('warm-up-back') === 1)
    const stored = async () => {
      const doc = new Y.Doc()
      for (const u of (await store.load('shared/rescue'))?.updates ?? []) Y.applyUpdate(doc, u)
      return doc.getMap('m').get('from-a')
    }
    onA.doc.getMap('m').set('from-a', 'precious')
    await untilDoc(onB.doc, 'the edit via node b', (d) => d.getMap('m').get('from-a') === 'precious')
    expect(await stored()).toBeUndefined() // a's write hangs; b holds it only in memory
    // Node a vanishes (no heartbeat, no goodbye), its write still not durable.
    onA.p.destroy()
    await a!.cluster!.close()
    await eventually('the edit stored by the others', stored, (v) => v === 'precious', 10_000)
    expect(Number((await b!.metrics.busRescuedUpdates.get()).values[0]?.value)).toBeGreaterThan(0)
  }, 30_000)

  it("with MongoDB-style shipping: an update durable only in the silent origin's local queue is persisted by the others", async () => {
    const shared = memoryLogState() // one shared store; each node has its own outbox
    const shipping = (hang: boolean) => {
      const backend = new MemoryLogBackend(shared)
      if (hang) backend.hook = (op) => (op === 'insertLog' ? new Promise(() => {}) : undefined)
      return new ShippingStore({ outbox: memoryOutbox(), remote: new LogStore(backend) })
    }
    const stores = [shipping(true), shipping(false), shipping(false)]
    const [a, b] = await cluster(stores)
    const onA = client(a!, 'shared/shipped')
    const onB = client(b!, 'shared/shipped')
    await Promise.all([synced(onA.p), synced(onB.p)])
    onA.doc.getMap('m').set('from-a', 'precious')
    await untilDoc(onB.doc, 'the edit via node b', (d) => d.getMap('m').get('from-a') === 'precious')
    // Durable on a's disk, never confirmed by the shared store: a's heartbeats must not count it as stored.
    await eventually(
      'durable locally on a',
      async () => stores[0]!.outbox.entries,
      (n) => n > 0,
    )
    // Several heartbeats of a, all after the local write (published ones reach Redis: the bus closes with QUIT).
    const beats = await published(a!, 'heartbeat')
    await eventually(
      '3 more heartbeats of a',
      () => published(a!, 'heartbeat'),
      (n) => n >= beats + 3,
    )
    onA.p.destroy()
    await a!.cluster!.close()
    const remote = new LogStore(new MemoryLogBackend(shared))
    const content = async () => {
      return storedToDoc(await remote.load('shared/shipped'))
        .getMap('m')
        .get('from-a')
    }
    await eventually('the edit shipped by the others', content, (v) => v === 'precious', 10_000)
    await Promise.all(stores.slice(1).map((st) => st.close()))
  }, 30_000)

  it('never compacts one document on two nodes at once', async () => {
    const store = new RecordingStore()
    const [a, b] = await cluster([store, store, store])
    const e = client(a!, 'shared/compact')
    await synced(e.p)
    for (let k = 0; k < 50; k++) e.doc.getMap('m').set(`k${k}`, k)
    await eventually(
      'log written',
      async () => (await store.load('shared/compact'))?.updates.length ?? 0,
      (n) => n > 0,
    )
    await Promise.all([a!.compactor.compact('shared/compact'), b!.compactor.compact('shared/compact')])
    const results = async (n: Atrium) => Object.fromEntries((await n.metrics.compactions.get()).values.map((v) => [v.labels.result, v.value]))
    const [ra, rb] = await Promise.all([results(a!), results(b!)])
    expect((ra.ok ?? 0) + (rb.ok ?? 0)).toBe(1)
    expect((ra.skipped ?? 0) + (rb.skipped ?? 0)).toBe(1)
    // And the lease was released: a later compaction goes ahead.
    e.doc.getMap('m').set('after', 1)
    await eventually(
      'logged again',
      async () => (await store.load('shared/compact'))?.updates.length ?? 0,
      (n) => n > 0,
    )
    await b!.compactor.compact('shared/compact')
    expect((await results(b!)).ok ?? 0).toBeGreaterThanOrEqual(1)
  }, 30_000)
})
