/**
 * Cluster mode end to end: a real redis-server started here on a free port, three Atrium
 * processes, and the unchanged y-websocket client from npm.
 */
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { eventually, on, provider, synced, until } from '../../load-tests/harness/clients.ts'
import { freePort, startRedis, stopAllRedis, type RedisServer } from '../../load-tests/harness/redis.ts'
import { killAllServers, metric as metricAt, startServerProcess, type ServerProcess } from '../../load-tests/harness/server-process.ts'
import { runLoad } from '../../load-tests/cli/atrium-load.ts'
import { BusKind, encodeEnvelope } from './envelope.ts'

let redis: RedisServer
let nodes: ServerProcess[] = []
const open: WebsocketProvider[] = []

const startNode = (id: string) =>
  startServerProcess({ REDIS_URL: redis.url, NODE_ID: id, CLUSTER_HEARTBEAT_MS: 200, CLUSTER_NODE_TIMEOUT_MS: 1500, ANTI_ENTROPY_INTERVAL_MS: 60_000 }) // the periodic pass must not mask the on-load and on-reconnect ones

async function startCluster(): Promise<void> {
  nodes = await Promise.all(['a', 'b', 'c'].map(startNode))
  // Every node hears the other two before a test starts.
  for (const n of nodes)
    await eventually(
      `node ${n.port} sees 3 nodes`,
      () => metric(n, 'atrium_cluster_nodes'),
      (v) => v === 3,
    )
}

/** A node's Prometheus sample, summed over labels. */
const metric = (node: ServerProcess, name: string) => metricAt(node.httpUrl, name)

interface Editor {
  doc: Y.Doc
  p: WebsocketProvider
  node: number
  wrote: string[]
}

async function editors(name: string, perNode: number): Promise<Editor[]> {
  const list: Editor[] = []
  for (let i = 0; i < perNode * 3; i++) {
    const doc = new Y.Doc()
    const p = provider(nodes[i % 3]!.wsUrl, name, doc)
    open.push(p)
    list.push({ doc, p, node: i % 3, wrote: [] })
  }
  await Promise.all(list.map((e) => synced(e.p)))
  return list
}

function edit(e: Editor, i: number, k: number): void {
  const key = `e${i}-${k}`
  e.doc.getMap('m').set(key, k)
  e.wrote.push(key)
}

/** Edits from every editor every `everyMs` until stopped. */
function keepEditing(list: Editor[], everyMs = 20): () => void {
  let k = 0
  const timer = setInterval(() => {
    k++
    for (const [i, e] of list.entries()) edit(e, i, k)
  }, everyMs)
  return () => clearInterval(timer)
}

function converged(list: Editor[]): boolean {
  const all = new Set(list.flatMap((e) => e.wrote))
  const sv = Buffer.from(Y.encodeStateVector(list[0]!.doc)).toString('base64')
  return list.every((e) => e.doc.getMap('m').size === all.size && Buffer.from(Y.encodeStateVector(e.doc)).toString('base64') === sv)
}

function untilConverged(list: Editor[], ms: number): Promise<void> {
  return until(
    'every editor holds every edit',
    () => converged(list),
    (wake) => {
      for (const e of list) e.doc.on('update', wake)
      const poll = setInterval(wake, 50)
      return () => {
        clearInterval(poll)
        for (const e of list) e.doc.off('update', wake)
      }
    },
    ms,
  )
}

/** Waits until every editor holds the `n`th edit each editor makes from now on: editing is under way and crossing nodes. */
function untilEditsCross(list: Editor[], n: number, ms: number): Promise<void> {
  const from = list.map((e) => e.wrote.length)
  const holds = (e: Editor) =>
    list.every((o, j) => {
      const key = o.wrote[from[j]! + n - 1]
      return key !== undefined && e.doc.getMap('m').has(key)
    })
  return until(
    `every editor holding the next ${n} edits of every editor`,
    () => list.every(holds),
    (wake) => {
      for (const e of list) e.doc.on('update', wake)
      return () => {
        for (const e of list) e.doc.off('update', wake)
      }
    },
    ms,
  )
}

function expectEveryEdit(list: Editor[]): void {
  const all = list.flatMap((e) => e.wrote)
  for (const e of list) {
    const m = e.doc.getMap('m')
    expect(all.filter((key) => !m.has(key))).toEqual([])
  }
}

describe('cluster mode: three nodes on one Redis', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterEach(() => {
    for (const p of open.splice(0)) p.destroy()
    killAllServers()
  })
  afterAll(() => stopAllRedis())

  it('editors spread over three nodes converge, and awareness crosses nodes and leaves with its client', async () => {
    await startCluster()
    const list = await editors('cluster/converge', 2)
    for (let k = 0; k < 20; k++) for (const [i, e] of list.entries()) edit(e, i, k)
    await untilConverged(list, 10_000)
    expectEveryEdit(list)
    const sorted = (e: Editor) => [...e.doc.getMap('m').entries()].sort(([a], [b]) => (a < b ? -1 : 1))
    for (const e of list) expect(sorted(e)).toEqual(sorted(list[0]!))

    // Awareness from a client on node a (editor 0) is seen by a client on node c (editor 2).
    const onA = list[0]!
    const onC = list[2]!
    onA.p.awareness.setLocalStateField('user', { name: 'alice' })
    const seen = () => (onC.p.awareness.getStates().get(onA.doc.clientID) as { user?: { name: string } } | undefined)?.user?.name === 'alice'
    await until('awareness on node c', seen, on(onC.p.awareness, 'change'))
    onA.p.destroy()
    await until('awareness gone on node c', () => !onC.p.awareness.getStates().has(onA.doc.clientID), on(onC.p.awareness, 'change'))

    // Each update crossed the bus once per origin publish and was applied remotely.
    expect(await metric(nodes[0]!, 'atrium_bus_messages_received_total')).toBeGreaterThan(0)
    expect(await metric(nodes[0]!, 'atrium_bus_latency_seconds_count')).toBeGreaterThan(0)
  }, 60_000)

  it('converges within 2 s after a 3 s Redis outage in the middle of editing, with every edit', async () => {
    await startCluster()
    const list = await editors('cluster/outage', 2)
    const stop = keepEditing(list)
    await untilEditsCross(list, 5, 10_000)
    await redis.stop()
    // Each node keeps serving its own clients and reports the degradation.
    for (const n of nodes) {
      const ready = await eventually(
        'degraded readiness',
        async () => (await fetch(`${n.httpUrl}/readyz`)).json() as Promise<{ status: string; checks: { redis: string } }>,
        (r) => r.status === 'degraded',
      )
      expect(ready.checks.redis).toBe('down')
    }
    const before = list.map((e) => e.doc.getMap('m').size)
    await new Promise((r) => setTimeout(r, 3000)) // the outage's length is the scenario (longer than CLUSTER_NODE_TIMEOUT_MS), not a wait for a condition
    // Editors on one node still see each other's edits (node a: editors 0 and 3).
    expect(list[0]!.doc.getMap('m').size).toBeGreaterThan(before[0]!)
    expect(list[0]!.doc.getMap('m').has(list[3]!.wrote.at(-5)!)).toBe(true)
    stop()
    await redis.start()
    const back = Date.now()
    await untilConverged(list, 2000)
    const tookMs = Date.now() - back
    expectEveryEdit(list)
    process.stdout.write(`cluster converged ${tookMs} ms after Redis came back\n`)
    for (const n of nodes) {
      await eventually(
        'ready again',
        async () => ((await (await fetch(`${n.httpUrl}/readyz`)).json()) as { status: string }).status,
        (s) => s === 'ready',
      )
      expect(await metric(n, 'atrium_redis_up')).toBe(1)
    }
    expect((await Promise.all(nodes.map((n) => metric(n, 'atrium_anti_entropy_repairs_total')))).reduce((a, b) => a + b)).toBeGreaterThan(0)
  }, 60_000)

  it('SIGKILL of one node in the middle of editing: its clients move to another node and every client ends with every edit', async () => {
    await startCluster()
    const list = await editors('cluster/kill', 2)
    const stop = keepEditing(list)
    await untilEditsCross(list, 5, 10_000)
    await nodes[1]!.kill('SIGKILL')
    // Like a load balancer would: the clients of node b reconnect to node c, same Y.Doc.
    for (const e of list.filter((x) => x.node === 1)) {
      e.p.destroy()
      e.p = provider(nodes[2]!.wsUrl, 'cluster/kill', e.doc)
      open.push(e.p)
    }
    // Editing goes on after the move: the moved editors' new edits reach everyone, and everyone's reach them.
    await untilEditsCross(list, 5, 15_000)
    stop()
    await untilConverged(list, 15_000)
    expectEveryEdit(list)
  }, 60_000)

  it('ignores garbage on the bus: logged, counted, nothing crashes, editing goes on', async () => {
    await startCluster()
    const list = await editors('cluster/garbage', 1)
    const pub = new Redis(redis.url)
    try {
      const garbage = [
        Buffer.from('not msgpack at all \u0000\u00ff'),
        Buffer.from([0x93, 0x01, 0x02, 0x03]), // msgpack, not an envelope
        Buffer.from(
          encodeEnvelope({
            origin: 'intruder',
            kind: BusKind.update,
            doc: 'cluster/garbage',
            payload: Uint8Array.of(1, 2, 3, 250, 250),
            sentAt: 0,
            seq: 1,
            digest: 0,
          }),
        ), // envelope, corrupt update
        Buffer.from(
          encodeEnvelope({ origin: 'intruder', kind: BusKind.state, doc: 'cluster/garbage', payload: Uint8Array.of(200, 200), sentAt: 0, seq: 0, digest: 0 }),
        ), // corrupt state vector
        Buffer.from(encodeEnvelope({ origin: 'intruder', kind: BusKind.update, doc: 'elsewhere', payload: Uint8Array.of(0, 0), sentAt: 0, seq: 1, digest: 0 })), // wrong channel
      ]
      const busId = nodes[0]!.logs.find((l) => l.msg === 'listening')!.busId as string
      for (const channel of ['atrium:doc:cluster/garbage', `atrium:node:${busId}`, 'atrium:cluster']) for (const g of garbage) await pub.publish(channel, g)
    } finally {
      pub.disconnect()
    }
    for (const n of nodes)
      await eventually(
        'invalid bus messages counted',
        () => metric(n, 'atrium_bus_invalid_messages_total'),
        (v) => v >= 6,
      )
    // Node a also got the garbage sent to its own channel.
    await eventually(
      'node a counts its channel too',
      () => metric(nodes[0]!, 'atrium_bus_invalid_messages_total'),
      (v) => v >= 9,
    )
    for (const n of nodes) expect(n.logs.some((l) => l.msg === 'ignored an invalid message on the cluster bus')).toBe(true)
    for (const n of nodes) expect(n.proc.exitCode).toBeNull()
    for (const [i, e] of list.entries()) edit(e, i, 1)
    await untilConverged(list, 10_000)
  }, 60_000)

  it('starts and serves its own clients while Redis is unreachable, reporting degraded', async () => {
    const nowhere = `redis://127.0.0.1:${await freePort()}`
    const n = await startServerProcess({ REDIS_URL: nowhere, NODE_ID: 'lonely' })
    const ready = (await (await fetch(`${n.httpUrl}/readyz`)).json()) as { status: string; checks: { redis: string } }
    expect(ready).toMatchObject({ status: 'degraded', checks: { redis: 'down' } })
    const one = provider(n.wsUrl, 'cluster/lonely')
    const two = provider(n.wsUrl, 'cluster/lonely')
    open.push(one, two)
    await Promise.all([synced(one), synced(two)])
    one.doc.getMap('m').set('k', 'v')
    await until('local fan-out', () => two.doc.getMap('m').get('k') === 'v', on(two.doc, 'update'))
    expect(await metric(n, 'atrium_redis_up')).toBe(0)
    expect(n.proc.exitCode).toBeNull()
  }, 30_000)

  it('atrium-load spread over the three nodes: zero loss, converged, cross-node latency measured', async () => {
    await startCluster()
    const r = await runLoad({
      url: nodes.map((n) => n.wsUrl).join(','),
      protocol: 'yws',
      docs: 1,
      editorsPerDoc: 9,
      rate: 5,
      awarenessHz: 0,
      payload: 0,
      durationS: 3,
      docPrefix: 'cluster/load/',
      workers: 1,
      replicasPerDoc: 3,
    })
    expect(r.lossPct).toBe(0)
    expect(r.convergence.converged).toBe(true)
    // 3 editors per node: each update reaches 8 editors, 6 of them on the other two nodes.
    expect(r.crossNodeLatencyMs.count).toBe(r.updatesSent * 6)
    expect(r.latencyMs.count).toBe(r.updatesSent * 8)
  }, 60_000)
})
