/**
 * `npm run bench:cluster`: a real redis-server and three compiled Atrium nodes on this
 * machine, 50 editors on one document spread over the nodes (17/17/16), 10 updates/s each
 * for 20 s, measured by the atrium-load core. Prints latency between editors on different
 * nodes (origin node → Redis → other node → client) next to all deliveries, and each node's
 * bus latency and CPU.
 */
import { readFileSync } from 'node:fs'
import { startRedis, stopAllRedis } from '../server/testing/redis.ts'
import { killAllServers, startServerProcess } from '../server/testing/server-process.ts'
import { runLoad } from './cli/atrium-load.ts'

const cpuSeconds = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}

async function main() {
  const redis = await startRedis()
  const nodes = await Promise.all(['a', 'b', 'c'].map((id) => startServerProcess({ REDIS_URL: redis.url, NODE_ID: id, LOG_LEVEL: 'info' }, undefined, { built: true })))
  try {
    const cpu0 = nodes.map((n) => cpuSeconds(n.proc.pid!))
    const r = await runLoad({ url: nodes.map((n) => n.wsUrl).join(','), protocol: 'yws', docs: 1, editorsPerDoc: 50, rate: 10, awarenessHz: 0, payload: 0, durationS: 20, docPrefix: `bench-cluster/${Date.now().toString(36)}/`, workers: 2, replicasPerDoc: 3 })
    const cpu = nodes.map((n, i) => cpuSeconds(n.proc.pid!) - cpu0[i]!)
    const bus = await Promise.all(
      nodes.map(async (n) => {
        const text = await (await fetch(`${n.httpUrl}/metrics`)).text()
        const v = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN)
        return { meanMs: (1000 * v('atrium_bus_latency_seconds_sum')) / v('atrium_bus_latency_seconds_count'), messages: v('atrium_bus_latency_seconds_count') }
      }),
    )
    const x = r.crossNodeLatencyMs
    const all = r.latencyMs
    console.log(`| figure | value |
|---|---|
| editors on another node: p50 / p90 / p99 / max | ${x.p50} / ${x.p90} / ${x.p99} / ${x.max} ms (${x.count.toLocaleString('en-US')} deliveries) |
| all deliveries: p50 / p99 | ${all.p50} / ${all.p99} ms (${all.count.toLocaleString('en-US')}) |
| loss / converged | ${r.lossPct.toFixed(3)} % / ${r.convergence.converged ? 'yes' : 'NO'} |
| bus latency (publish → remote apply), mean per node | ${bus.map((b) => b.meanMs.toFixed(2)).join(' / ')} ms |
| node CPU over the run | ${cpu.map((c) => c.toFixed(1)).join(' / ')} s |
| generator CPU | ${r.generatorCpuPct.toFixed(0)} % of one core |

Target (issue 4): cross-node p99 ≤ 15 ms: ${x.p99 <= 15 ? 'met' : '**missed**'} (${x.p99} ms).`)
  } finally {
    killAllServers()
    await redis.stop()
    stopAllRedis()
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err)
    killAllServers()
    stopAllRedis()
    process.exit(1)
  },
)
