/**
 * Cluster mode: compute results are shared through a real redis-server. Ten requests for
 * one document state, spread over two nodes at once, run the analysis once in the whole
 * cluster; the other node serves the shared result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { seed } from '../../client/bots/seed.ts'
import type { Atrium } from '../atrium.ts'
import { eventually, provider, synced, until, untilDoc } from '../../load-tests/harness/clients.ts'
import { startRedis, stopAllRedis } from '../../load-tests/harness/redis.ts'
import { startInProcess, type InProcessServer } from '../testing/in-process.ts'
import type { Analytics } from './site.ts'

describe('compute cache shared across the cluster', () => {
  const running: InProcessServer[] = []
  const nodes: Atrium[] = []
  beforeAll(async () => {
    const redis = await startRedis()
    for (const id of ['a', 'b']) running.push(await startInProcess({ REDIS_URL: redis.url, NODE_ID: id, CLUSTER_HEARTBEAT_MS: 100 }, 512 * 1024 ** 2))
    nodes.push(...running.map((r) => r.server))
    for (const n of nodes)
      await eventually(
        '2 nodes',
        async () => n.cluster!.peers.length,
        (v) => v === 1,
      )
  })
  afterAll(async () => {
    await Promise.all(running.map((r) => r.close()))
    stopAllRedis()
  })

  it('computes one state once, however many ask on however many nodes', async () => {
    const [a, b] = nodes as [Atrium, Atrium]
    await seed({ url: `ws://127.0.0.1:${a.port}`, doc: 'site/shared', objects: 2000, batch: 500, seed: 2 }, () => {})
    // Both nodes hold the document, in the same state.
    const onA = provider(`ws://127.0.0.1:${a.port}`, 'site/shared')
    const onB = provider(`ws://127.0.0.1:${b.port}`, 'site/shared')
    await Promise.all([synced(onA), synced(onB)])
    await untilDoc(onB.doc, 'everything on b', (d) => d.getMap('objects').size === 2000 && d.getMap('anchors').size > 0 && d.getMap('humans').size > 0)
    // The shared cache is keyed by state: wait until both nodes' copies are in the same one.
    const [docA, docB] = [a.registry.peek('site/shared')!, b.registry.peek('site/shared')!]
    const sameState = () => Y.equalSnapshots(Y.snapshot(docA.doc), Y.snapshot(docB.doc)) // state vector and delete set
    await until('a and b hold the same state', sameState, (wake) => {
      for (const d of [docA, docB]) d.doc.on('update', wake)
      return () => {
        for (const d of [docA, docB]) d.doc.off('update', wake)
      }
    })

    const ask = (n: Atrium) =>
      fetch(`http://127.0.0.1:${n.port}/api/documents/site%2Fshared/analytics`).then((r) => r.json() as Promise<{ source: string; analytics: Analytics }>)
    const answers = await Promise.all([a, b, a, b, a, b, a, b, a, b].map(ask))
    const computed = async (n: Atrium) =>
      (await n.metrics.computeTime.get()).values.find((v) => v.metricName?.endsWith('_count') && v.labels.kind === 'analytics')?.value ?? 0
    expect((await computed(a)) + (await computed(b))).toBe(1)
    for (const answer of answers) expect(answer.analytics).toEqual(answers[0]!.analytics)
    expect(answers[0]!.analytics.objects).toBe(2000)
    expect(answers.map((x) => x.source)).toContain('shared')
    onA.destroy()
    onB.destroy()
  }, 60_000)
})
