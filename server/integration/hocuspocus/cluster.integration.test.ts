/**
 * Hocuspocus clients in cluster mode: two Atrium nodes on a real redis-server, an unchanged
 * HocuspocusProvider on one and a WebsocketProvider (and another HocuspocusProvider) on the
 * other. Updates, awareness and stateless messages cross the bus; the embedding's onStateless
 * hears a client's message once, on its node; broadcastStateless reaches clients on every node.
 */
import { rm } from 'node:fs/promises'
import type { HocuspocusProvider } from '@hocuspocus/provider'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WebsocketProvider } from 'y-websocket'
import { eventually, hocuspocusProvider, hocuspocusSynced, on, provider, synced, until, untilDoc } from '../../../load-tests/harness/clients.ts'
import { hasRedisServer, type RedisServer, startRedis, stopAllRedis } from '../../../load-tests/harness/redis.ts'
import { tempDir } from '../../../load-tests/harness/server-process.ts'
import { LmdbStore } from '../../../persistence/lmdb-store.ts'
import { type Atrium, createAtrium } from '../../atrium.ts'
import type { Identity } from '../../auth/claims.ts'
import { configWith } from '../../config.ts'
import { createLogger } from '../../log.ts'

let redis: RedisServer
const nodes: { atrium: Atrium; store: LmdbStore; dir: string; heard: { name: string; payload: string; from: Identity }[] }[] = []
const open: (HocuspocusProvider | WebsocketProvider)[] = []

async function node(id: string) {
  const dir = await tempDir()
  const store = new LmdbStore({ path: dir, mapSize: 256 * 1024 ** 2 })
  const heard: (typeof nodes)[number]['heard'] = []
  const config = configWith({
    PORT: 0,
    HOST: '127.0.0.1',
    DATA_DIR: dir,
    REDIS_URL: redis.url,
    NODE_ID: id,
    CLUSTER_HEARTBEAT_MS: 100,
    CLUSTER_NODE_TIMEOUT_MS: 2000,
  })
  const atrium = await createAtrium({
    config,
    logger: createLogger({ level: 'silent', pretty: false }),
    store,
    hooks: { onStateless: (name, payload, from) => heard.push({ name, payload, from }) },
  })
  nodes.push({ atrium, store, dir, heard })
  return { url: `ws://127.0.0.1:${atrium.port}`, atrium, heard }
}

describe.skipIf(!hasRedisServer())('Hocuspocus clients across a 2-node cluster', () => {
  let a: Awaited<ReturnType<typeof node>>
  let b: Awaited<ReturnType<typeof node>>
  beforeAll(async () => {
    redis = await startRedis()
    a = await node('hp-a')
    b = await node('hp-b')
    for (const n of [a, b])
      await eventually(
        'the other node',
        async () => n.atrium.cluster!.peers.length,
        (v) => v === 1,
      )
  })
  afterAll(async () => {
    for (const p of open) p.destroy()
    for (const n of nodes) {
      await n.atrium.close()
      await n.store.close()
      await rm(n.dir, { recursive: true, force: true })
    }
    stopAllRedis()
  })

  it('a HocuspocusProvider on one node and a WebsocketProvider on the other converge and see each other’s awareness', async () => {
    const name = 'cluster/hp-yws'
    const hp = hocuspocusProvider(a.url, name)
    const yws = provider(b.url, name)
    open.push(hp, yws)
    await Promise.all([hocuspocusSynced(hp), synced(yws)])
    hp.document.getMap('m').set('on-a', 1)
    yws.doc.getMap('m').set('on-b', 2)
    await untilDoc(yws.doc, 'node a’s write at b', (d) => d.getMap('m').get('on-a') === 1)
    await untilDoc(hp.document, 'node b’s write at a', (d) => d.getMap('m').get('on-b') === 2)
    hp.setAwarenessField('user', { name: 'hp-on-a' })
    yws.awareness.setLocalStateField('user', { name: 'yws-on-b' })
    const names = (states: Map<number, Record<string, unknown>>) => [...states.values()].map((s) => (s.user as { name?: string } | undefined)?.name)
    await until('a’s Hocuspocus client at b', () => names(yws.awareness.getStates()).includes('hp-on-a'), on(yws.awareness, 'change'))
    await until('b’s y-websocket client at a', () => names(hp.awareness!.getStates()).includes('yws-on-b'), on(hp.awareness!, 'change'))
    await until('acknowledged', () => hp.unsyncedChanges === 0, on(hp, 'unsyncedChanges'))
  })

  it('relays a stateless message to a provider on the other node, not back to its sender, and the sender’s node’s hook hears it once', async () => {
    const name = 'cluster/stateless'
    const got = { a: [] as string[], b: [] as string[] }
    const onA = hocuspocusProvider(a.url, name, { on: { stateless: ({ payload }: { payload: string }) => got.a.push(payload) } })
    const onB = hocuspocusProvider(b.url, name, { on: { stateless: ({ payload }: { payload: string }) => got.b.push(payload) } })
    open.push(onA, onB)
    await Promise.all([hocuspocusSynced(onA), hocuspocusSynced(onB)])
    onA.sendStateless('ping from a')
    await until('a’s message at b', () => got.b.includes('ping from a'), on(onB, 'stateless'))
    onB.sendStateless('pong from b')
    await until('b’s answer at a', () => got.a.includes('pong from b'), on(onA, 'stateless'))
    // The hook of the node each arrived at heard it, once; the other node's did not.
    expect(a.heard.filter((h) => h.name === name).map((h) => h.payload)).toEqual(['ping from a'])
    expect(b.heard.filter((h) => h.name === name).map((h) => h.payload)).toEqual(['pong from b'])
    // Neither got its own message back (a later round trip proves nothing else was on its way).
    expect(got.a).toEqual(['pong from b'])
    expect(got.b).toEqual(['ping from a'])
  })

  it('broadcastStateless from the embedding reaches Hocuspocus clients on every node', async () => {
    const name = 'cluster/broadcast'
    const got = { a: [] as string[], b: [] as string[] }
    const onA = hocuspocusProvider(a.url, name, { on: { stateless: ({ payload }: { payload: string }) => got.a.push(payload) } })
    const onB = hocuspocusProvider(b.url, name, { on: { stateless: ({ payload }: { payload: string }) => got.b.push(payload) } })
    open.push(onA, onB)
    await Promise.all([hocuspocusSynced(onA), hocuspocusSynced(onB)])
    a.atrium.broadcastStateless(name, 'maintenance at 18:00')
    await until('the notice at a', () => got.a.includes('maintenance at 18:00'), on(onA, 'stateless'))
    await until('the notice at b', () => got.b.includes('maintenance at 18:00'), on(onB, 'stateless'))
  })
})
