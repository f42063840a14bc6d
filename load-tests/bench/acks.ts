/**
 * `npm run bench:acks`: what Atrium's durable acknowledgement costs a Hocuspocus client. One
 * unchanged @hocuspocus/provider (Node, `ws` as its WebSocket) makes --edits edits at --rate
 * per second while --readers other providers of the document watch, against Atrium (the
 * compiled server, a fresh process per --flush-ms value) and Hocuspocus 3.4.4 (`new Server()`,
 * in memory), all in one run, their edits interleaved so every server meets the same noise.
 * For each edit:
 * - ack to 0: from the local edit to the SyncStatus that brings the provider's
 *   `unsyncedChanges` back to 0 (what a "saved" indicator shows);
 * - ack: from the edit to the SyncStatus that answers that very update (the provider counts
 *   them down in order, one per update);
 * - delivery: from the edit to each reader's document having it.
 * Atrium answers SyncStatus once the update is durable (group commit + fsync); Hocuspocus once
 * it is applied in memory. Atrium's own view (/metrics) is printed beside: its mean group
 * commit (one durable append) and mean wait from an applied update to its SyncStatus.
 *   npm run bench:acks [-- --edits 500 --rate 50 --readers 5 --flush-ms 25]   (--flush-ms 25,5: one Atrium per value)
 */
import { parseArgs } from 'node:util'
import type { HocuspocusProvider } from '@hocuspocus/provider'
import type * as Y from 'yjs'
import { createHistogram, type Histogram, recordMs, summarize } from '../../shared/histogram.ts'
import { hocuspocusProvider, hocuspocusSynced, on, until, untilDoc } from '../harness/clients.ts'
import { killAllServers, metric, startServerProcess } from '../harness/server-process.ts'
import { startPeer } from './peer-process.ts'

const { values } = parseArgs({
  options: {
    edits: { type: 'string', default: '500' },
    rate: { type: 'string', default: '50' },
    readers: { type: 'string', default: '5' },
    'flush-ms': { type: 'string', default: '25' },
  },
})
const whole = (name: string, text: string, min: number, max: number): number => {
  const n = Number(text)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} ${text}: a whole number from ${min} to ${max}`)
  return n
}
const EDITS = whole('edits', values.edits, 1, 100_000)
const RATE = whole('rate', values.rate, 1, 1000)
const READERS = whole('readers', values.readers, 1, 100)
const FLUSH_MS = values['flush-ms'].split(',').map((v) => whole('flush-ms', v, 1, 1000))
const DONE_MS = 60_000

interface Target {
  readonly name: string
  readonly url: string
  /** Atrium's HTTP base, for its /metrics. */
  readonly httpUrl?: string
  stop(): void
}

/** One target's writer, readers and figures. */
class Run {
  readonly toZero = createHistogram()
  readonly ack = createHistogram()
  readonly delivery = createHistogram()
  /** SyncStatus counted down with no edit of ours waiting: would shift the per-update match. */
  unmatched = 0
  reconnects = 0
  readonly server: { flushMs: number; ackWaitMs: number } = { flushMs: Number.NaN, ackWaitMs: Number.NaN }
  private readonly sentAt: number[] = []
  private readonly waitingForZero: number[] = []
  private readonly waitingForAck: number[] = []
  private ackHead = 0
  private last = 0
  private readonly map: Y.Map<number>

  constructor(
    readonly target: Target,
    readonly writer: HocuspocusProvider,
    readonly readers: HocuspocusProvider[],
  ) {
    this.map = writer.document.getMap<number>('edits')
  }

  /** After the first sync (the provider's own step 1 acknowledged): from now on every SyncStatus answers an edit. */
  listen(): void {
    this.last = this.writer.unsyncedChanges
    this.writer.on('unsyncedChanges', ({ number }: { number: number }) => this.counted(number))
    this.writer.on('disconnect', () => this.reconnects++)
    for (const reader of this.readers) {
      reader.document.getMap<number>('edits').observe((event) => {
        const now = performance.now()
        for (const key of event.keysChanged) recordMs(this.delivery, now - this.sentAt[Number(key)]!)
      })
    }
  }

  edit(i: number): void {
    const now = performance.now()
    this.sentAt[i] = now
    this.waitingForZero.push(now)
    this.waitingForAck.push(now)
    this.map.set(String(i), i) // the provider counts it (unsyncedChanges + 1) and sends it, synchronously
  }

  private counted(n: number): void {
    const now = performance.now()
    // Up by one: an edit was sent. Anything else is a SyncStatus (0 stays 0 when nothing waited).
    if (n <= this.last || n === 0) {
      if (this.ackHead < this.waitingForAck.length) recordMs(this.ack, now - this.waitingForAck[this.ackHead++]!)
      else this.unmatched++
    }
    if (n === 0) {
      for (const t of this.waitingForZero) recordMs(this.toZero, now - t)
      this.waitingForZero.length = 0
    }
    this.last = n
  }

  /** Every edit acknowledged and seen by every reader. */
  async done(): Promise<void> {
    await until(`${this.target.name}: every edit acknowledged`, () => this.waitingForZero.length === 0, on(this.writer, 'unsyncedChanges'), DONE_MS)
    await Promise.all(
      this.readers.map((r, k) => untilDoc(r.document, `${this.target.name}: reader ${k} has every edit`, (d) => d.getMap('edits').size === EDITS, DONE_MS)),
    )
  }

  close(): void {
    for (const p of [this.writer, ...this.readers]) p.destroy()
  }
}

async function atrium(flushMs: number): Promise<Target> {
  const s = await startServerProcess({ FLUSH_INTERVAL_MS: flushMs }, undefined, { built: true })
  return { name: `Atrium, FLUSH_INTERVAL_MS=${flushMs}`, url: s.wsUrl, httpUrl: s.httpUrl, stop: () => s.proc.kill('SIGKILL') }
}

async function hocuspocus(): Promise<Target> {
  const { proc, port } = await startPeer('hocuspocus')
  return { name: 'Hocuspocus 3.4.4 (in memory)', url: `ws://127.0.0.1:${port}`, stop: () => proc.kill('SIGKILL') }
}

/** Sums and counts of Atrium's histograms, to take means over the measured window. */
async function serverSample(httpUrl: string) {
  const m = (name: string) => metric(httpUrl, name)
  return {
    flushSum: await m('atrium_storage_flush_seconds_sum'),
    flushCount: await m('atrium_storage_flush_seconds_count'),
    ackSum: await m('atrium_durable_ack_wait_seconds_sum'),
    ackCount: await m('atrium_durable_ack_wait_seconds_count'),
  }
}

async function prepare(target: Target, docName: string): Promise<Run> {
  const writer = hocuspocusProvider(target.url, docName)
  const readers = Array.from({ length: READERS }, () => hocuspocusProvider(target.url, docName))
  await Promise.all([writer, ...readers].map((p) => hocuspocusSynced(p, 20_000)))
  await until(`${target.name}: the writer's first sync acknowledged`, () => writer.unsyncedChanges === 0, on(writer, 'unsyncedChanges'), 20_000)
  const run = new Run(target, writer, readers)
  run.listen()
  return run
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function main(): Promise<void> {
  const targets = [...(await Promise.all(FLUSH_MS.map(atrium))), await hocuspocus()]
  const docName = `bench/acks/${Date.now().toString(36)}`
  const runs: Run[] = []
  try {
    for (const t of targets) runs.push(await prepare(t, docName))
    const before = await Promise.all(runs.map((r) => (r.target.httpUrl ? serverSample(r.target.httpUrl) : null)))
    // Interleaved: target j edits at i × interval + j × interval / targets.
    const interval = 1000 / RATE
    const slot = interval / runs.length
    const t0 = performance.now() + 100
    for (let i = 0; i < EDITS; i++) {
      for (let j = 0; j < runs.length; j++) {
        const wait = t0 + i * interval + j * slot - performance.now()
        if (wait > 0) await sleep(wait)
        runs[j]!.edit(i)
      }
    }
    await Promise.all(runs.map((r) => r.done()))
    const after = await Promise.all(runs.map((r) => (r.target.httpUrl ? serverSample(r.target.httpUrl) : null)))
    runs.forEach((r, j) => {
      const b = before[j]
      const a = after[j]
      if (!a || !b) return
      r.server.flushMs = ((a.flushSum - b.flushSum) * 1000) / Math.max(1, a.flushCount - b.flushCount)
      r.server.ackWaitMs = ((a.ackSum - b.ackSum) * 1000) / Math.max(1, a.ackCount - b.ackCount)
    })
    report(runs)
  } finally {
    for (const r of runs) r.close()
    for (const t of targets) t.stop()
    killAllServers()
  }
}

/** p50 / p99 / mean in ms: the mean beside the percentiles, since a group commit makes acks bimodal (opened a window or joined one). */
function figures(h: Histogram): number[] {
  const { p50, p99 } = summarize(h)
  return [h.mean / 1000, p50, p99]
}

function report(runs: Run[]): void {
  const cell = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '—')
  const row = (label: string, cells: string[]) => console.log(`${label.padEnd(width)}${cells.map((c) => c.padStart(10)).join('')}`)
  const of = (r: Run) => [...figures(r.toZero), ...figures(r.ack), ...figures(r.delivery), summarize(r.delivery).max]
  const width = Math.max(...runs.map((r) => r.target.name.length), 'FLUSH_INTERVAL_MS=25 ÷ Hocuspocus'.length) + 2
  console.log(
    `Durable acknowledgement: ${EDITS} edits at ${RATE}/s from one @hocuspocus/provider, ${READERS} readers, one document, servers interleaved (ms)\n`,
  )
  row('', ['ack to 0', '', '', 'own ack', '', '', 'delivery', '', '', '', 'commit', 'ack wait'])
  row('', ['mean', 'p50', 'p99', 'mean', 'p50', 'p99', 'mean', 'p50', 'p99', 'max', 'mean', 'mean'])
  for (const r of runs) row(r.target.name, [...of(r), r.server.flushMs, r.server.ackWaitMs].map(cell))
  const peer = of(runs[runs.length - 1]!)
  for (const r of runs.slice(0, -1))
    row(
      `${r.target.name.split(', ')[1]} ÷ Hocuspocus`,
      of(r).map((v, k) => `${(v / peer[k]!).toFixed(2)}×`),
    )
  const s = (h: Histogram) => h.totalCount
  console.log(
    `\ncounts: ${runs.map((r) => `${r.target.name}: ${s(r.toZero)} acks to 0, ${s(r.ack)} acks, ${s(r.delivery)} deliveries, ${r.unmatched} unmatched SyncStatus, ${r.reconnects} reconnects`).join('; ')}`,
  )
  console.log(
    "commit: Atrium's mean group commit (one durable append: LMDB write + fsync); ack wait: its mean wait from an applied update to its SyncStatus; both from its /metrics over the edits",
  )
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    killAllServers()
    process.exit(1)
  },
)
