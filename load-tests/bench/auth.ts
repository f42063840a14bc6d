/**
 * `npm run bench:auth`: what access control costs, Atrium with and without it in one run
 * (the compiled build, a fresh process each, alternating so drift hits both):
 * - per connection: upgrade → first sync step 2 of a fresh socket, one after another (no
 *   token vs an HS256 token checked at the upgrade), p50/p99 over `--connections`;
 * - per message: scenario 1 of `npm run bench` (1 document × 50 editors × 10 updates/s),
 *   server CPU per delivery with auth off and on (the token is checked once per socket, so
 *   this should be the same).
 *   npm run bench:auth [-- --connections 500 --duration 15 --rounds 2]
 */
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import { decodeMessage, encodeSyncStep1 } from '../../shared/protocol/messages.ts'
import { mintToken } from '../../server/auth/mint.ts'
import { runLoad } from '../cli/atrium-load.ts'
import { killAllServers, startServerProcess } from '../harness/server-process.ts'
import { cpuSeconds } from './proc.ts'

const { values } = parseArgs({
  options: { connections: { type: 'string', default: '500' }, duration: { type: 'string', default: '15' }, rounds: { type: 'string', default: '2' } },
})
const CONNECTIONS = Number(values.connections)
const DURATION_S = Number(values.duration)
const ROUNDS = Number(values.rounds)
const SECRET = 'bench-secret-of-at-least-32-characters!'

/** One fresh socket: upgrade until its first sync step 2, in ms. */
function firstSync(url: string): Promise<number> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.binaryType = 'nodebuffer'
    ws.on('open', () => ws.send(encodeSyncStep1(new Uint8Array([0]))))
    ws.on('message', (data: Buffer) => {
      if (decodeMessage(new Uint8Array(data)).type !== 'sync-step2') return
      resolve(performance.now() - started)
      ws.close()
    })
    ws.on('close', (code) => code !== 1005 && code !== 1000 && reject(new Error(`closed ${code}`)))
    ws.on('error', reject)
  })
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!

async function round(auth: boolean) {
  const server = await startServerProcess(auth ? { AUTH_SECRET: SECRET } : {}, undefined, { built: true })
  const token = auth ? await mintToken({ secret: SECRET, sub: 'bench', docs: { '**': 'write' }, ttlS: 3600 }) : undefined
  const query = token ? `?token=${encodeURIComponent(token)}` : ''
  const times: number[] = []
  for (let i = 0; i < 50; i++) await firstSync(`${server.wsUrl}/bench/warm${query}`) // warm-up (JIT, the document's load)
  for (let i = 0; i < CONNECTIONS; i++) times.push(await firstSync(`${server.wsUrl}/bench/conn${query}`))
  const cpu0 = cpuSeconds(server.proc.pid!)
  const report = await runLoad({
    url: server.wsUrl,
    protocol: 'yws',
    docs: 1,
    editorsPerDoc: 50,
    rate: 10,
    awarenessHz: 0,
    payload: 0,
    durationS: DURATION_S,
    docPrefix: 'bench/s1/',
    workers: 2,
    replicasPerDoc: 3,
    token,
  })
  const cpuUs = ((cpuSeconds(server.proc.pid!) - cpu0) * 1e6) / Math.max(1, report.deliveriesReceived)
  server.proc.kill('SIGKILL')
  return { p50: pct(times, 50), p99: pct(times, 99), cpuUs, p99Delivery: report.latencyMs.p99, loss: report.lossPct }
}

const results: { off: Awaited<ReturnType<typeof round>>[]; on: Awaited<ReturnType<typeof round>>[] } = { off: [], on: [] }
try {
  for (let r = 0; r < ROUNDS; r++) {
    results.off.push(await round(false))
    results.on.push(await round(true))
  }
} finally {
  killAllServers()
}
const f = (n: number) => n.toFixed(2)
console.log(
  `| round | connect→synced p50 / p99, no auth | with a token | ratio p50 | s1 CPU µs/delivery, no auth | with auth | ratio | s1 p99, no auth / auth |`,
)
console.log('|---|---|---|---|---|---|---|---|')
results.off.forEach((off, i) => {
  const on = results.on[i]!
  console.log(
    `| ${i + 1} | ${f(off.p50)} / ${f(off.p99)} ms | ${f(on.p50)} / ${f(on.p99)} ms | ${f(on.p50 / off.p50)} | ${f(off.cpuUs)} | ${f(on.cpuUs)} | ${f(on.cpuUs / off.cpuUs)} | ${f(off.p99Delivery)} / ${f(on.p99Delivery)} ms |`,
  )
})
if ([...results.off, ...results.on].some((r) => r.loss > 0)) console.log('loss in some run: see above')
