/**
 * Issue 12, finding 8: the REST API spends its work off the event loop and within bounds. A
 * document's JSON is built in the compute worker, cached per version and capped; computations
 * waiting for the worker are bounded (503 with Retry-After past it, never an unbounded queue);
 * nearly equal SVG viewports share one computation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seed } from '../../../client/bots/seed.ts'
import { snapViewport } from '../../http/routes.ts'
import { provider, synced, untilDoc } from '../../../load-tests/harness/clients.ts'
import { killAllServers, metric, startServerProcess, type ServerProcess } from '../../../load-tests/harness/server-process.ts'

describe('REST work is bounded', () => {
  let server: ServerProcess
  beforeAll(async () => {
    // Many clients' worth of requests from one address: the per-address rate (quotas test) is lifted so the queue bound is what answers.
    server = await startServerProcess({ MAX_REST_JSON_BYTES: 64 * 1024, MAX_COMPUTE_REQUESTS_PER_S: 100_000 })
    await seed({ url: server.wsUrl, doc: 'site/rest', objects: 5000, batch: 1000, seed: 9 }, () => {})
  }, 60_000)
  afterAll(() => killAllServers())

  it('serves a small document as JSON, and a large one as 413 pointing at the export', async () => {
    const small = provider(server.wsUrl, 'doc/small')
    await synced(small)
    small.doc.getMap('m').set('a', 1)
    const check = provider(server.wsUrl, 'doc/small')
    await synced(check)
    await untilDoc(check.doc, 'the edit', (d) => d.getMap('m').has('a'))
    const ok = await fetch(`${server.httpUrl}/api/documents/${encodeURIComponent('doc/small')}`)
    expect(ok.status).toBe(200)
    expect(((await ok.json()) as { content: unknown }).content).toEqual({ m: { a: 1 } })
    const big = await fetch(`${server.httpUrl}/api/documents/${encodeURIComponent('site/rest')}`)
    expect(big.status).toBe(413)
    expect(((await big.json()) as { message: string }).message).toMatch(/MAX_REST_JSON_BYTES.*docs -- export/)
    small.destroy()
    check.destroy()
  })

  it('refuses computations past the queue bound with 503 and Retry-After, and serves them once there is room', async () => {
    // 100 exports of distinct viewports at once: distinct computations, more than the worker may queue.
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, k) =>
        fetch(`${server.httpUrl}/api/documents/${encodeURIComponent('site/rest')}/export.svg?floor=f0&viewport=${k * 100},0,${k * 100 + 50},50`),
      ),
    )
    const busy = answers.filter((r) => r.status === 503)
    expect(busy.length).toBeGreaterThan(0)
    expect(busy[0]!.headers.get('retry-after')).toBe('1')
    expect(((await busy[0]!.json()) as { error: string }).error).toBe('busy')
    expect(answers.filter((r) => r.status === 200).length).toBeGreaterThan(0)
    // A viewport none of the 100 asked for: computed now, not served from the cache.
    const computed = await metric(server.httpUrl, 'atrium_compute_requests_total', { kind: 'svg', cache: 'computed' })
    const again = await fetch(`${server.httpUrl}/api/documents/${encodeURIComponent('site/rest')}/export.svg?floor=f0&viewport=20000,0,20050,50`)
    expect(again.status).toBe(200)
    expect((await metric(server.httpUrl, 'atrium_compute_requests_total', { kind: 'svg', cache: 'computed' })) - computed).toBe(1)
  })

  it('snaps viewports to a grid, so a client panning by a few centimetres gets the cached export', async () => {
    expect(snapViewport([10.03, 5.01, 42.2, 30])).toEqual([10, 5, 43, 30])
    expect(snapViewport([10.03, 5.01, 42.2, 30])).toEqual(snapViewport([10.2, 5.4, 42.9, 29.6]))
    const before = await metric(server.httpUrl, 'atrium_compute_requests_total', { kind: 'svg', cache: 'computed' })
    for (const vp of ['10.03,5.01,42.2,30', '10.2,5.4,42.9,29.6', '10.5,5.2,42.7,29.9']) {
      expect((await fetch(`${server.httpUrl}/api/documents/${encodeURIComponent('site/rest')}/export.svg?floor=f0&viewport=${vp}`)).status).toBe(200)
    }
    expect((await metric(server.httpUrl, 'atrium_compute_requests_total', { kind: 'svg', cache: 'computed' })) - before).toBe(1)
  })
})
