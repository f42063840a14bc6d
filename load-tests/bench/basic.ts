/**
 * First benchmark (issue 2): N y-websocket-protocol clients on one document, each sending
 * real Yjs updates at a fixed rate; end-to-end latency from an editor's send until each
 * other editor receives it, plus the server's CPU and RSS read from /proc.
 *
 * Receivers do not apply updates: they read (client, clock) from the update with
 * Y.parseUpdateMeta and match it against the sender's send time, so the generator stays
 * light. The generator's own CPU is reported so a saturated generator is visible.
 *
 *   npm run bench:basic -- [--clients 50] [--rate 10] [--duration 20] [--url ws://host:port] [--env KEY=VALUE ...]
 * Without --url it starts a fresh Atrium process (the compiled build, `npm run build`, as in
 * production) on a temporary data directory.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { decodeMessage, encodeSyncStep1, encodeUpdate } from '../../shared/protocol/messages.ts'
import { startServerProcess, killAllServers } from '../harness/server-process.ts'
import { cpuSeconds, rssBytes } from './proc.ts'

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '50' },
    rate: { type: 'string', default: '10' },
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    url: { type: 'string' },
    doc: { type: 'string', default: 'bench/basic' },
    env: { type: 'string', multiple: true, default: [] },
  },
})
const CLIENTS = Number(values.clients)
const RATE = Number(values.rate)
const DURATION_S = Number(values.duration)
const WARMUP_S = Number(values.warmup)
for (const [k, v] of [
  ['clients', CLIENTS],
  ['rate', RATE],
  ['duration', DURATION_S],
] as const) {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${k} must be a positive number`)
}

interface Sender {
  sends: { clock: number; at: number }[]
}

const clockTicks = () => Number(process.hrtime.bigint()) / 1e6

async function main() {
  const serverEnv = Object.fromEntries(values.env.map((kv) => kv.split('=') as [string, string]))
  const server = values.url ? null : await startServerProcess(serverEnv, undefined, { built: true })
  const url = values.url ?? server!.wsUrl
  const senders = new Map<number, Sender>()
  const latencies: number[] = []
  let expected = 0
  let received = 0
  // Sends before this instant are warm-up (JIT, worker start): delivered but not measured.
  let measureFrom = Number.POSITIVE_INFINITY

  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const doc = new Y.Doc()
      const sender: Sender = { sends: [] }
      senders.set(doc.clientID, sender)
      const cursor = new Map<number, number>() // sender clientID → index of next unmatched send
      const ws = new WebSocket(`${url}/${values.doc}`)
      ws.binaryType = 'nodebuffer'
      ws.on('message', (data: Buffer) => {
        const msg = decodeMessage(new Uint8Array(data))
        if (msg.type !== 'update' && msg.type !== 'sync-step2') return
        const now = clockTicks()
        const meta = Y.parseUpdateMeta(msg.update)
        for (const [client, to] of meta.to) {
          if (client === doc.clientID) continue
          const s = senders.get(client)
          if (!s) continue
          let idx = cursor.get(client) ?? 0
          while (idx < s.sends.length && s.sends[idx]!.clock <= to) {
            const sent = s.sends[idx]!.at
            if (sent >= measureFrom) {
              latencies.push(now - sent)
              received++
            }
            idx++
          }
          cursor.set(client, idx)
        }
      })
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve())
        ws.once('error', reject)
      })
      ws.send(encodeSyncStep1(Y.encodeStateVector(doc)))
      doc.on('update', (update: Uint8Array) => {
        sender.sends.push({ clock: Y.getState(doc.store, doc.clientID), at: clockTicks() })
        ws.send(encodeUpdate(update))
      })
      return { i, doc, ws }
    }),
  )

  const pid = server?.proc.pid
  let cpu0 = 0
  let gen0 = process.cpuUsage()
  let peakRss = 0
  let rssTimer: NodeJS.Timeout | null = null
  const loopLag = monitorEventLoopDelay({ resolution: 5 })
  const start = clockTicks()
  const t0 = start + WARMUP_S * 1000
  const startMeasuring = setTimeout(() => {
    measureFrom = clockTicks()
    cpu0 = pid ? cpuSeconds(pid) : 0
    gen0 = process.cpuUsage()
    loopLag.enable()
    if (pid) rssTimer = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(pid))), 500)
  }, WARMUP_S * 1000)
  const end = t0 + DURATION_S * 1000
  // Each client edits on its own timer, phase-shifted so sends spread over the interval.
  await Promise.all(
    clients.map(
      ({ i, doc }) =>
        new Promise<void>((resolve) => {
          const objects = doc.getMap('objects')
          let n = 0
          const tick = () => {
            if (clockTicks() >= end) return resolve()
            // A building component moved: one small map write, shaped like our documents.
            objects.set(`c${i}-${n % 20}`, { type: 'component', parentId: `zone-${i % 5}`, pos: [n, i, 0] })
            n++
            if (clockTicks() >= measureFrom) expected += CLIENTS - 1
            setTimeout(tick, 1000 / RATE)
          }
          setTimeout(tick, (i * 1000) / RATE / CLIENTS)
        }),
    ),
  )
  await new Promise((r) => setTimeout(r, 1000)) // let the last sends arrive
  clearTimeout(startMeasuring)
  const elapsed = (clockTicks() - measureFrom) / 1000
  const serverCpu = pid ? cpuSeconds(pid) - cpu0 : NaN
  const gen = process.cpuUsage(gen0)
  if (rssTimer) clearInterval(rssTimer)
  const endRss = pid ? rssBytes(pid) : NaN
  for (const { ws } of clients) ws.close()

  latencies.sort((a, b) => a - b)
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN
  const report = {
    clients: CLIENTS,
    ratePerClient: RATE,
    durationS: DURATION_S,
    warmupS: WARMUP_S,
    updatesSent: expected / Math.max(1, CLIENTS - 1),
    deliveriesExpected: expected,
    deliveriesReceived: received,
    lossPct: expected ? (100 * (expected - received)) / expected : 0,
    latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99), p999: pct(99.9), max: latencies[latencies.length - 1] ?? NaN },
    serverCpuPct: (100 * serverCpu) / elapsed,
    serverCpuMsPerDelivery: (1000 * serverCpu) / Math.max(1, received),
    serverRssMiB: { peak: peakRss / 2 ** 20, end: endRss / 2 ** 20 },
    generatorCpuPct: (100 * (gen.user + gen.system)) / 1e6 / elapsed,
    generatorLoopLagMs: { p50: loopLag.percentile(50) / 1e6, p99: loopLag.percentile(99) / 1e6, max: loopLag.max / 1e6 },
  }
  console.log(JSON.stringify(report, null, 2))
  killAllServers()
  process.exit(0)
}

main().catch((err) => {
  console.error(err)
  killAllServers()
  process.exit(1)
})
