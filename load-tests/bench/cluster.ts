/**
 * `npm run bench:cluster`: a real redis-server and three compiled Atrium nodes on this
 * machine, 50 editors on one document spread over the nodes (17/17/16), 10 updates/s each
 * for 20 s, measured by the atrium-load core. Prints latency between editors on different
 * nodes (origin node → Redis → other node → client) next to all deliveries, and each node's
 * bus latency and CPU.
 */
import { startRedis, stopAllRedis } from '../harness/redis.ts'
import { killAllServers, metric, startServerProcess } from '../harness/server-process.ts'
import { runLoad } from '../cli/atrium-load.ts'
import { cpuSeconds } from './proc.ts'

async function main() {
  const redis = await startRedis()
  const nodes = await Promise.all(
    ['a', 'b', 'c'].map((id) => startServerProcess({ REDIS_URL: redis.url, NODE_ID: id, LOG_LEVEL: 'info' }, undefined, { built: true })),
  )
  try {
    const cpu0 = nodes.map((n) => cpuSeconds(n.proc.pid!))
    const r = await runLoad({
      url: nodes.map((n) => n.wsUrl).join(','),
      protocol: 'yws',
      docs: 1,
      editorsPerDoc: 50,
      rate: 10,
      awarenessHz: 0,
      payload: 0,
      durationS: 20,
      docPrefix: `bench-cluster/${Date.now().toString(36)}/`,
      workers: 2,
      replicasPerDoc: 3,
    })
    const cpu = nodes.map((n, i) => cpuSeconds(n.proc.pid!) - cpu0[i]!)
    const bus = await Promise.all(
      nodes.map(async (n) => {
        const [sum, count] = await Promise.all([metric(n.httpUrl, 'atrium_bus_latency_seconds_sum'), metric(n.httpUrl, 'atrium_bus_latency_seconds_count')])
        return { meanMs: (1000 * sum) / count, messages: count }
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
