/**
 * `npm run bench`: Atrium, Hocuspocus and the y-websocket reference server, one after
 * another on this machine, the same scenarios against each with the atrium-load core, and
 * a table with ratios to the best peer written into BENCHMARKS.md (between markers).
 * Scenarios 1 and 6 also run against Atrium with Hocuspocus-framed clients, and 1 and 4
 * against a bare relay (the floor).
 *   npm run bench [-- --quick] [-- --only s1,s4] [-- --before <git ref>]
 *   (--quick: short durations, for trying the harness; --only: a subset; --before: an earlier
 *   commit of Atrium, built in a worktree, runs each scenario too, right after this one, and
 *   the ratio to it is printed; none of the three writes BENCHMARKS.md)
 */
import { execSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { encodeHocuspocusAuth, encodeHocuspocusFrame } from '../../shared/protocol/hocuspocus.ts'
import { encodeSyncStep2 } from '../../shared/protocol/messages.ts'
import { killAllServers, startServerProcess } from '../harness/server-process.ts'
import { checkoutBefore } from './before.ts'
import { startPeer } from './peer-process.ts'
import { cpuSeconds, rssBytes } from './proc.ts'
import { renderTable, splice } from './bench-report.ts'
import { runLoad } from '../cli/atrium-load.ts'
import type { Protocol } from '../core/editor.ts'
import { openDocument, untilObjects } from './first-open-client.ts'
import type { LoadPlan } from '../core/run.ts'

const quick = process.argv.includes('--quick')
/** `--only s1,s4`: run just these scenarios (printed, never written to BENCHMARKS.md). */
const onlyArg = process.argv.indexOf('--only')
const only = onlyArg === -1 ? null : new Set((process.argv[onlyArg + 1] ?? '').split(','))
const beforeArg = process.argv.indexOf('--before')
const beforeRef = beforeArg === -1 ? null : process.argv[beforeArg + 1]!
const D = (s: number) => (quick ? Math.min(s, 4) : s)
/** `--storm 500,260000`: scenario 7 with this many joiners on a building of this many objects (printed, never written to BENCHMARKS.md). */
const stormArg = process.argv.indexOf('--storm')
const [stormJoiners, stormObjects] = stormArg === -1 ? [null, null] : (process.argv[stormArg + 1] ?? '').split(',').map(Number)

interface Target {
  name: string
  protocol: Protocol
  pid: number
  url: string
  stop(): void
}

async function startAtrium(name: string, protocol: Protocol): Promise<Target> {
  const s = await startServerProcess({ MAX_MESSAGE_BYTES: 64 * 1024 * 1024, LOG_LEVEL: 'info' }, undefined, { built: true })
  return { name, protocol, pid: s.proc.pid!, url: s.wsUrl, stop: () => s.proc.kill('SIGKILL') }
}

/** Servers that run only in the scenarios naming them in `also`; every other server runs in every scenario. */
const OPTIONAL = new Set(['atriumHocuspocus', 'relay', 'uwsYjs'])

const servers: Record<string, () => Promise<Target>> = {
  atrium: () => startAtrium('Atrium', 'yws'),
  // The same server, its clients speaking the Hocuspocus framing at its root (SyncStatus once durable).
  atriumHocuspocus: () => startAtrium('Atrium (Hocuspocus framing)', 'hocuspocus'),
  ...(beforeRef
    ? {
        before: async (): Promise<Target> => {
          const { builtMain } = checkoutBefore(beforeRef, { built: true })
          const s = await startServerProcess({ MAX_MESSAGE_BYTES: 64 * 1024 * 1024, LOG_LEVEL: 'info' }, undefined, { built: true, builtMain })
          return { name: `Atrium at ${beforeRef}`, protocol: 'yws', pid: s.proc.pid!, url: s.wsUrl, stop: () => s.proc.kill('SIGKILL') }
        },
      }
    : {}),
  hocuspocus: async () => {
    const { proc, port } = await startPeer('hocuspocus')
    return { name: 'Hocuspocus 3.4.4', protocol: 'hocuspocus', pid: proc.pid!, url: `ws://127.0.0.1:${port}`, stop: () => proc.kill('SIGKILL') }
  },
  ywebsocket: async () => {
    const { proc, port } = await startPeer('y-websocket')
    return { name: 'y-websocket server 0.1.1', protocol: 'yws', pid: proc.pid!, url: `ws://127.0.0.1:${port}`, stop: () => proc.kill('SIGKILL') }
  },
  // The least a Yjs server can do (scenario 5's upload yardstick); never a ratio's peer.
  uwsYjs: async () => {
    const { proc, port } = await startPeer('uws-yjs')
    return { name: 'minimal uWS + Yjs', protocol: 'yws', pid: proc.pid!, url: `ws://127.0.0.1:${port}`, stop: () => proc.kill('SIGKILL') }
  },
  // The floor (transport only); never a ratio's peer.
  relay: async () => {
    const { proc, port } = await startPeer('uws-relay')
    return { name: 'bare uWS relay', protocol: 'yws', pid: proc.pid!, url: `ws://127.0.0.1:${port}`, stop: () => proc.kill('SIGKILL') }
  },
}

/** Runs a load and measures the server process alongside. */
async function measured(t: Target, plan: Omit<LoadPlan, 'url' | 'protocol'>) {
  const cpu0 = cpuSeconds(t.pid)
  const report = await runLoad({ ...plan, url: t.url, protocol: t.protocol })
  const serverCpu = cpuSeconds(t.pid) - cpu0
  return { report, serverCpu, cpuUsPerDelivery: (serverCpu * 1e6) / Math.max(1, report.deliveriesReceived) }
}

const base = { workers: 2, replicasPerDoc: 3, payload: 0, awarenessHz: 0 }
type Row = Record<string, string | number>

const fmt = (m: Awaited<ReturnType<typeof measured>>): Row => ({
  p50: m.report.latencyMs.p50,
  p99: m.report.latencyMs.p99,
  loss: +m.report.lossPct.toFixed(3),
  deliveriesPerS: Math.round(m.report.deliveriesPerSecond),
  cpuUsPerDelivery: +m.cpuUsPerDelivery.toFixed(2),
  generatorCpu: Math.round(m.report.generatorCpuPct),
  converged: m.report.convergence.converged ? 'yes' : 'NO',
  ...(m.report.poseLatencyMs.count > 0
    ? { poseP50: m.report.poseLatencyMs.p50, poseP99: m.report.poseLatencyMs.p99, poses: m.report.poseLatencyMs.count }
    : {}),
})

type Scenario = (t: Target, prefix: string) => Promise<Row>

/** `also`: the OPTIONAL servers this scenario runs too. */
const scenarios: Record<string, { label: string; run: Scenario; also?: readonly string[] }> = {
  s1: {
    label: '1 document × 50 editors × 10/s',
    also: ['atriumHocuspocus', 'relay'],
    run: async (t, prefix) => fmt(await measured(t, { ...base, docs: 1, editorsPerDoc: 50, rate: 10, durationS: D(20), docPrefix: prefix })),
  },
  s2: {
    label: 'saturation ramp',
    run: async (t, prefix) => {
      let best: Row | null = null
      for (let step = 0, rate = 10; step < (quick ? 3 : 8); step++, rate *= 1.6) {
        const m = await measured(t, { ...base, docs: 1, editorsPerDoc: 50, rate, durationS: D(5), docPrefix: `${prefix}${step}/` })
        const ok = m.report.latencyMs.p99 <= 100 && m.report.lossPct <= 0.1 && m.report.convergence.converged
        process.stderr.write(
          `    rate ${rate.toFixed(1)}: ${Math.round(m.report.deliveriesPerSecond)}/s p99 ${m.report.latencyMs.p99} loss ${m.report.lossPct.toFixed(3)} gen ${Math.round(m.report.generatorCpuPct)}%\n`,
        )
        if (!ok) break
        best = { ...fmt(m), rate: +rate.toFixed(1) }
        if (m.report.generatorCpuPct > 160) {
          best.note = 'generator saturated'
          break
        }
      }
      return best ?? { note: 'no step held p99 ≤ 100 ms, loss ≤ 0.1 %' }
    },
  },
  s3: {
    label: '200 documents × 5 editors × 2/s',
    run: async (t, prefix) => fmt(await measured(t, { ...base, replicasPerDoc: 1, docs: 200, editorsPerDoc: 5, rate: 2, durationS: D(20), docPrefix: prefix })),
  },
  s4: {
    label: 'idle connections',
    also: ['relay'],
    // The marginal cost: RSS while 1,000 idle connections are held (the process is warm,
    // its young generation already touched), then while 4,000 more join them, 50 per
    // document. Fixed costs (code, heap reservations) would otherwise be charged to the
    // first few thousand connections; the total from a cold process is reported too.
    run: async (t, prefix) => {
      const rss0 = rssBytes(t.pid)
      const first = quick ? 200 : 1_000
      const more = quick ? 800 : 4_000
      const hold = (docs: number, durationS: number, p: string) =>
        runLoad({ ...base, url: t.url, protocol: t.protocol, replicasPerDoc: 0, docs, editorsPerDoc: 50, rate: 0, durationS, docPrefix: p })
      const warm = hold(first / 50, 16, `${prefix}warm/`)
      await new Promise((r) => setTimeout(r, 6_000))
      const rss1 = rssBytes(t.pid)
      let rss2 = 0
      const timer = setInterval(() => (rss2 = Math.max(rss2, rssBytes(t.pid))), 250)
      const added = await hold(more / 50, 5, `${prefix}more/`)
      clearInterval(timer)
      const warmed = await warm
      const connected = warmed.editors + added.editors
      return {
        connections: connected,
        connectErrors: warmed.errors.connect + added.errors.connect,
        rssMiBCold: +(rss0 / 2 ** 20).toFixed(1),
        rssMiBAt1000: +(rss1 / 2 ** 20).toFixed(1),
        rssMiBAll: +(rss2 / 2 ** 20).toFixed(1),
        kbPerConnection: +((rss2 - rss1) / 1024 / Math.max(1, added.editors)).toFixed(2),
        kbPerConnectionFromCold: +((rss2 - rss0) / 1024 / Math.max(1, connected)).toFixed(2),
      }
    },
  },
  s5: {
    label: 'the first opener of a 100,000-object building',
    also: ['uwsYjs'],
    run: (t, prefix) => coldSync(t, prefix.slice(0, -1), quick ? 10_000 : 100_000),
  },
  s7: {
    label: 'join storm: 150 clients open a 4 MB building at once',
    run: (t, prefix) => joinStorm(t, prefix.slice(0, -1), stormObjects ?? (quick ? 10_000 : 50_000), stormJoiners ?? (quick ? 30 : 150)),
  },
  s6: {
    label: '50 XR clients, poses at 90 Hz',
    also: ['atriumHocuspocus'],
    run: async (t, prefix) => fmt(await measured(t, { ...base, docs: 1, editorsPerDoc: 50, rate: 1, awarenessHz: 90, durationS: D(20), docPrefix: prefix })),
  },
}

/**
 * A building of `objects` objects: the time to upload it (one sync step 2, until a client that
 * joined the empty document has all of it), then the first fresh client to open it — the one
 * who meets the server with nothing cached — and five more, each from connect until its sync
 * step 2 is received (and, for the first, until all of it is applied too:
 * load-tests/bench/first-open-client.ts). Peak RSS over it all.
 */
async function coldSync(t: Target, docName: string, objects: number): Promise<Row> {
  const doc = new Y.Doc()
  const map = doc.getMap('objects')
  doc.transact(() => {
    for (let i = 0; i < objects; i++)
      map.set(`o${i}`, {
        type: i % 50 === 0 ? 'floor' : 'component',
        parentId: `f${Math.floor(i / 50)}`,
        name: `Object ${i}`,
        pos: [i % 100, Math.floor(i / 100) % 100, 0],
      })
  })
  const update = Y.encodeStateAsUpdate(doc)
  let peakRss = 0
  const sampling = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(t.pid))), 50)
  try {
    // The listener stays, so every server keeps the document loaded in memory.
    const listener = await openDocument(t.url, docName, t.protocol)
    const landed = untilObjects(listener, objects)
    const seeder = new WebSocket(t.protocol === 'hocuspocus' ? t.url : `${t.url}/${docName}`)
    await new Promise((r) => seeder.once('open', r))
    if (t.protocol === 'hocuspocus') seeder.send(encodeHocuspocusAuth(docName, ''))
    const step2 = encodeSyncStep2(update)
    const sent = performance.now()
    seeder.send(t.protocol === 'hocuspocus' ? encodeHocuspocusFrame(docName, step2) : step2)
    await landed
    const uploadMs = performance.now() - sent
    const times: number[] = []
    let firstAppliedMs = 0
    for (let i = 0; i < 6; i++) {
      const joiner = await openDocument(t.url, docName, t.protocol)
      if (joiner.doc.getMap('objects').size !== objects) throw new Error(`${t.name}: a joiner got ${joiner.doc.getMap('objects').size} objects of ${objects}`)
      times.push(joiner.ms)
      if (i === 0) firstAppliedMs = joiner.appliedMs
      joiner.ws.close()
    }
    seeder.close()
    listener.ws.close()
    const [first, ...later] = times
    later.sort((a, b) => a - b)
    return {
      objects,
      updateMiB: +(update.length / 2 ** 20).toFixed(2),
      uploadMs: +uploadMs.toFixed(1),
      firstMs: +first!.toFixed(1),
      firstAppliedMs: +firstAppliedMs.toFixed(1),
      medianMs: +later[Math.floor(later.length / 2)]!.toFixed(1),
      maxMs: +Math.max(...times).toFixed(1),
      peakRssMiB: +(peakRss / 2 ** 20).toFixed(1),
    }
  } finally {
    clearInterval(sampling)
  }
}

/**
 * `joiners` fresh clients open a loaded building of `objects` objects at once: connect to sync
 * step 2 received for each (p50, p99, last), and the server's peak RSS meanwhile, above what it
 * held with the building loaded. The clients only receive (one process applying 150 copies
 * would measure itself); one of them applies what it got and is checked.
 */
async function joinStorm(t: Target, docName: string, objects: number, joiners: number): Promise<Row> {
  const building = new Y.Doc()
  const map = building.getMap('objects')
  building.transact(() => {
    for (let i = 0; i < objects; i++) map.set(`o${i}`, { type: 'component', parentId: `f${i % 100}`, name: `Object ${i}`, pos: [i % 100, i % 7, 0] })
  })
  const listener = await openDocument(t.url, docName, t.protocol)
  const landed = untilObjects(listener, objects)
  const seeder = await openDocument(t.url, docName, t.protocol, 120_000, building)
  await landed
  await new Promise((r) => setTimeout(r, Number(process.env.BENCH_SETTLE_MS ?? 10_000))) // loaded a while ago: its warm state merged, idle worker threads gone
  const before = rssBytes(t.pid)
  let peak = before
  const sampling = setInterval(() => (peak = Math.max(peak, rssBytes(t.pid))), 20)
  try {
    const checked = openDocument(t.url, docName, t.protocol, 300_000)
    const rest = Array.from({ length: joiners - 1 }, () => openDocument(t.url, docName, t.protocol, 300_000, new Y.Doc(), false))
    const all = await Promise.all([checked, ...rest])
    const sample = all[0]!
    if (sample.doc.getMap('objects').size !== objects) throw new Error(`${t.name}: a joiner got ${sample.doc.getMap('objects').size} objects of ${objects}`)
    const ms = all.map((o) => o.ms).sort((a, b) => a - b)
    for (const o of all) o.ws.close()
    seeder.ws.close()
    listener.ws.close()
    return {
      joiners,
      updateMiB: +(Y.encodeStateAsUpdate(building).length / 2 ** 20).toFixed(2),
      p50: +ms[Math.floor(ms.length / 2)]!.toFixed(1),
      p99: +ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))]!.toFixed(1),
      lastMs: +ms[ms.length - 1]!.toFixed(1),
      rssMiBLoaded: +(before / 2 ** 20).toFixed(1),
      peakRssMiB: +(peak / 2 ** 20).toFixed(1),
    }
  } finally {
    clearInterval(sampling)
  }
}

/** This commit against `--before`, figure by figure (lower is better but for deliveries/s). */
function beforeLines(results: Record<string, Record<string, Row>>, ref: string): string[] {
  const lines = [`Atrium ${execSync('git rev-parse --short HEAD').toString().trim()} ÷ Atrium ${ref}, same run:`]
  for (const [key, now] of Object.entries(results.atrium ?? {})) {
    const then = results.before?.[key] ?? {}
    const figures = Object.keys(now).filter((k) => typeof now[k] === 'number' && typeof then[k] === 'number' && then[k] !== 0)
    lines.push(`- ${key}: ${figures.map((k) => `${k} ${now[k]} vs ${then[k]} (${((now[k] as number) / (then[k] as number)).toFixed(3)})`).join(', ')}`)
  }
  return lines
}

/**
 * Scenario by scenario, each server in turn on a fresh process: the figures a ratio compares
 * are measured minutes apart at most (this machine is shared and its speed drifts), and no
 * scenario inherits another's leftovers (5,000 closing sockets, a 100,000-object document).
 */
async function main() {
  const results: Record<string, Record<string, Row>> = {}
  const prefix = `bench/${Date.now().toString(36)}`
  for (const [key, scenario] of Object.entries(scenarios)) {
    if (only && !only.has(key)) continue
    for (const [server, start] of Object.entries(servers)) {
      if (OPTIONAL.has(server) && !scenario.also?.includes(server)) continue
      const t = await start()
      process.stderr.write(`${key} (${scenario.label}): ${t.name}\n`)
      try {
        ;(results[server] ??= {})[key] = await scenario.run(t, `${prefix}/${key}/`)
      } finally {
        t.stop()
      }
    }
  }
  killAllServers()
  writeFileSync('.bench-results.json', `${JSON.stringify(results, null, 2)}\n`)
  const commit = execSync('git rev-parse --short HEAD').toString().trim()
  const table = renderTable(results, { date: new Date().toISOString().slice(0, 10), commit })
  if (beforeRef) console.log(`${table}\n\n${beforeLines(results, beforeRef).join('\n')}`)
  else if (quick || only || stormArg !== -1)
    console.log(table) // a partial or smoke run never overwrites the recorded figures
  else {
    const path = fileURLToPath(new URL('../../BENCHMARKS.md', import.meta.url))
    writeFileSync(path, splice(readFileSync(path, 'utf8'), table))
    console.log(`BENCHMARKS.md updated\n${table}`)
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err)
    killAllServers()
    process.exit(1)
  },
)
