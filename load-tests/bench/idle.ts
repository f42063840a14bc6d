/**
 * Idle connections, 10 per document (issue 18, point 5): per server, in one run,
 * - RSS per added connection from a warm process: 1,000 connections held (100 documents), then
 *   9,000 more (900 documents) join them: (RSS after − RSS before) ÷ 9,000;
 * - the time those 9,000 take to join (the generator's run less its hold: it connects in waves
 *   of 100 per process, 2 processes, so this is a floor of what the server can take, not its limit);
 * - a 1 Hz awareness heartbeat of 9,000 more (each seen by 9 others) for 25 s: the server's CPU
 *   (% of one core) over its last 13 s.
 * Atrium (compiled), Hocuspocus 3.4.4 and the y-websocket server; load from `atrium-load`'s core.
 *   npm run bench:idle [-- --connections 10000]
 */
import { runLoad } from '../cli/atrium-load.ts'
import { atriumTarget, type BenchTarget, peerTarget } from './targets.ts'
import { cpuSeconds, rssBytes } from './proc.ts'

const arg = process.argv.indexOf('--connections')
const total = arg === -1 ? 10_000 : Number(process.argv[arg + 1])
const PER_DOC = 10
const WARM = Math.min(1_000, Math.floor(total / 10))

const targets: Record<string, () => Promise<BenchTarget>> = {
  Atrium: () => atriumTarget(),
  'Hocuspocus 3.4.4': () => peerTarget('hocuspocus'),
  'y-websocket 0.1.1': () => peerTarget('y-websocket'),
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function measure(t: BenchTarget) {
  const base = { url: t.url, protocol: t.protocol, workers: 2, replicasPerDoc: 0, payload: 0, rate: 0 }
  const prefix = `idle/${Date.now().toString(36)}`
  const more = total - WARM
  // The warm share stays for the whole measurement: it connects, the server settles, the others join, idle then beating.
  const warm = runLoad({ ...base, docs: WARM / PER_DOC, editorsPerDoc: PER_DOC, awarenessHz: 0, durationS: 70, docPrefix: `${prefix}/warm/` })
  await settle(8_000)
  const rss1 = rssBytes(t.pid)
  // Idle: the others join and hold still for 15 s; RSS sampled meanwhile.
  let rss2 = 0
  const sampling = setInterval(() => (rss2 = Math.max(rss2, rssBytes(t.pid))), 250)
  const joinStarted = performance.now()
  const idle = await runLoad({ ...base, docs: more / PER_DOC, editorsPerDoc: PER_DOC, awarenessHz: 0, durationS: 15, docPrefix: `${prefix}/idle/` })
  clearInterval(sampling)
  // What the join took: the run's wall time less its 15 s hold (so generator start-up and teardown count too).
  const joinS = (performance.now() - joinStarted) / 1000 - 15
  // Beating: the same number join again and send their presence once a second for 25 s; CPU over the last 15 s.
  let cpu0 = 0
  let cpuAt = 0
  const beatStarted = performance.now()
  const cpuTimer = setInterval(() => {
    if (cpuAt || performance.now() - beatStarted < 12_000) return
    cpu0 = cpuSeconds(t.pid)
    cpuAt = performance.now()
  }, 100)
  const beat = await runLoad({ ...base, docs: more / PER_DOC, editorsPerDoc: PER_DOC, awarenessHz: 1, durationS: 25, docPrefix: `${prefix}/beat/` })
  clearInterval(cpuTimer)
  const cpuPct = cpuAt ? (100 * (cpuSeconds(t.pid) - cpu0)) / ((performance.now() - cpuAt) / 1000) : Number.NaN
  const warmed = await warm
  return {
    connections: warmed.editors + idle.editors,
    connectErrors: warmed.errors.connect + idle.errors.connect + beat.errors.connect,
    kbPerConnection: +((rss2 - rss1) / 1024 / Math.max(1, idle.editors)).toFixed(2),
    rssMiB: +(rss2 / 2 ** 20).toFixed(1),
    joinS: +joinS.toFixed(2),
    connectsPerS: Math.round(idle.editors / Math.max(0.001, joinS)),
    heartbeatCpuPct: +cpuPct.toFixed(1),
  }
}

const rows = [
  '| Server | connections | KB RSS per added idle connection | RSS with all (MiB) | 9,000 join: s / connects per s | 1 Hz heartbeat of 9,000: server CPU (% of a core) | connect errors |',
  '|---|---|---|---|---|---|---|',
]
for (const [name, start] of Object.entries(targets)) {
  const t = await start()
  try {
    const r = await measure(t)
    process.stderr.write(`${name}: ${JSON.stringify(r)}\n`)
    rows.push(
      `| ${name} | ${r.connections.toLocaleString('en-US')} | ${r.kbPerConnection} | ${r.rssMiB} | ${r.joinS} / ${r.connectsPerS} | ${r.heartbeatCpuPct} % | ${r.connectErrors} |`,
    )
  } finally {
    t.stop()
  }
}
console.log(rows.join('\n'))
process.exit(0)
