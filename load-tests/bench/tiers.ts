/**
 * `npm run bench:tiers`: 50 XR headsets streaming poses at 90 Hz and 200 browser viewers on one
 * document, the viewers at 10 Hz (`?awarenessHz=10`) against the same run with every viewer at
 * full rate, in one run (the compiled server, a fresh process each). Reports the server's CPU
 * and the bytes per second each viewer receives.
 *   npm run bench:tiers [-- --headsets 50 --viewers 200 --duration 10]
 */
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import { encodeAwarenessUpdate } from '../../shared/protocol/awareness.ts'
import { encodeAwareness, encodeSyncStep1 } from '../../shared/protocol/messages.ts'
import { killAllServers, startServerProcess } from '../harness/server-process.ts'
import { cpuSeconds } from './proc.ts'

const { values } = parseArgs({
  options: { headsets: { type: 'string', default: '50' }, viewers: { type: 'string', default: '200' }, duration: { type: 'string', default: '10' } },
})
const HEADSETS = Number(values.headsets)
const VIEWERS = Number(values.viewers)
const DURATION_S = Number(values.duration)

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.binaryType = 'nodebuffer'
    ws.once('open', () => {
      ws.send(encodeSyncStep1(new Uint8Array([0])))
      resolve(ws)
    })
    ws.once('error', reject)
  })
}

async function run(viewerHz: number | null) {
  const server = await startServerProcess({}, undefined, { built: true })
  const doc = `${server.wsUrl}/bench/xr`
  const headsets = await Promise.all(Array.from({ length: HEADSETS }, () => open(doc)))
  let received = 0
  const viewers = await Promise.all(Array.from({ length: VIEWERS }, () => open(viewerHz ? `${doc}?awarenessHz=${viewerHz}` : doc)))
  for (const v of viewers) v.on('message', (data: Buffer) => (received += data.length))
  const cpu0 = cpuSeconds(server.proc.pid!)
  const received0 = received
  const started = performance.now()
  let clock = 0
  // 90 Hz from every headset: each tick, every headset sends its pose (a ~120-byte state).
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      clock++
      headsets.forEach((ws, i) => {
        const state = JSON.stringify({
          user: { name: `xr${i}` },
          head: { p: [i, 1.7, clock / 90], q: [0, 0, 0, 1] },
          hands: [
            [0, 1, 0],
            [1, 1, 0],
          ],
        })
        ws.send(encodeAwareness(encodeAwarenessUpdate([{ clientId: 1000 + i, clock, state: new TextEncoder().encode(state) }])))
      })
      if (performance.now() - started >= DURATION_S * 1000) {
        clearInterval(timer)
        done()
      }
    }, 1000 / 90)
  })
  const seconds = (performance.now() - started) / 1000
  const cpu = cpuSeconds(server.proc.pid!) - cpu0
  const bytesPerViewerPerS = (received - received0) / VIEWERS / seconds
  for (const ws of [...headsets, ...viewers]) ws.terminate()
  server.proc.kill('SIGKILL')
  return { cpuPct: (cpu / seconds) * 100, bytesPerViewerPerS, posesPerS: (clock * HEADSETS) / seconds }
}

try {
  const full = await run(null)
  const tiered = await run(10)
  const f = (n: number) => n.toFixed(1)
  console.log(`${HEADSETS} headsets at 90 Hz (${f(full.posesPerS)} and ${f(tiered.posesPerS)} poses/s sent), ${VIEWERS} viewers, ${DURATION_S} s each:`)
  console.log('| viewers | server CPU | received per viewer |')
  console.log('|---|---|---|')
  console.log(`| every viewer at full rate | ${f(full.cpuPct)} % of a core | ${f(full.bytesPerViewerPerS / 1024)} KiB/s |`)
  console.log(`| viewers at 10 Hz | ${f(tiered.cpuPct)} % of a core | ${f(tiered.bytesPerViewerPerS / 1024)} KiB/s |`)
  console.log(`| ratio (10 Hz ÷ full) | ${(tiered.cpuPct / full.cpuPct).toFixed(2)} | ${(tiered.bytesPerViewerPerS / full.bytesPerViewerPerS).toFixed(2)} |`)
} finally {
  killAllServers()
}
