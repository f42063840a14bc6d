/**
 * Domain benchmark (issue 6): analytics and SVG export of seeded 10,000- and 100,000-object
 * sites, over REST on a
 *    real server process (the build): first request (the compute worker builds its copy),
 *    after one edit (copy kept, fed the edit: a cache miss), and cached; with the server's
 *    event-loop lag (p99 and max, from its /metrics) over each set of requests.
 *
 * (The cost of the schema check per update, once here, is part of admission's now:
 * `npm run bench:admission`, BENCHMARKS.md §6.)
 *
 *   npm run bench:compute [-- --sizes 10000,100000]
 */
import { parseArgs } from 'node:util'
import type * as Y from 'yjs'
import { seed } from '../../client/bots/seed.ts'
import { provider, synced } from '../harness/clients.ts'
import { killAllServers, startServerProcess } from '../harness/server-process.ts'

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '10000,100000' } } })
const SIZES = values.sizes.split(',').map(Number)

// ---- 2. compute over REST ----
/**
 * The server's event-loop delay since the last scrape (prom-client resets it per scrape).
 * Node records the whole interval between its timer ticks, so an idle loop reads as the
 * 10 ms sampling interval (eventLoopMonitoringPrecision): that is subtracted here.
 */
const SAMPLING_MS = 10
async function lag(http: string): Promise<{ p99: number; max: number }> {
  const text = await (await fetch(`${http}/metrics`)).text()
  const read = (name: string) => Math.max(0, Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN) * 1000 - SAMPLING_MS)
  return { p99: read('nodejs_eventloop_lag_p99_seconds'), max: read('nodejs_eventloop_lag_max_seconds') }
}

async function timed(url: string): Promise<number> {
  const t = performance.now()
  const res = await fetch(url)
  await res.arrayBuffer()
  if (!res.ok) throw new Error(`${url}: ${res.status}`)
  return performance.now() - t
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function computeRows(): Promise<string[]> {
  const server = await startServerProcess({ MAX_MESSAGE_BYTES: 64 * 1024 * 1024 }, undefined, { built: true })
  const rows: string[] = []
  try {
    for (const objects of SIZES) {
      const name = `site/bench-${objects}`
      await seed({ url: server.wsUrl, doc: name, objects, batch: 2000, seed: 1 }, () => {})
      const editor = provider(server.wsUrl, name)
      await synced(editor, 120_000)
      for (const [label, path] of [
        ['analytics', `/api/documents/${encodeURIComponent(name)}/analytics`],
        ['SVG export (floor f0, full detail)', `/api/documents/${encodeURIComponent(name)}/export.svg?floor=f0&lod=full`],
      ] as const) {
        const url = `${server.httpUrl}${path}`
        await lag(server.httpUrl) // resets the server's lag histogram
        const first = await timed(url)
        const firstLag = await lag(server.httpUrl)
        const cold: number[] = []
        for (let i = 0; i < 5; i++) {
          editor.doc.getMap<Y.Map<unknown>>('objects').get('f0')!.set('name', `Level 1 (${label} ${i})`)
          await new Promise((r) => setTimeout(r, 50))
          cold.push(await timed(url))
        }
        const coldLag = await lag(server.httpUrl)
        const cached: number[] = []
        for (let i = 0; i < 20; i++) cached.push(await timed(url))
        rows.push(
          `| ${label} | ${objects.toLocaleString('en')} | ${first.toFixed(0)} ms | ${median(cold).toFixed(0)} ms | ${median(cached).toFixed(1)} ms | ${firstLag.p99.toFixed(1)} / ${firstLag.max.toFixed(1)} ms | ${coldLag.p99.toFixed(1)} / ${coldLag.max.toFixed(1)} ms |`,
        )
      }
      editor.destroy()
    }
  } finally {
    killAllServers()
  }
  return rows
}

console.log('\nAnalytics and SVG export over REST (server process from the build; median of 5 after-edit and 20 cached requests)\n')
console.log(
  '| job | objects | first request (worker builds its copy) | after an edit (cache miss) | cached | server event-loop delay p99 / max: first | … after edits |',
)
console.log('|---|---|---|---|---|---|---|')
for (const row of await computeRows()) console.log(row)
process.exit(0)
