/**
 * Runs this process's share of a load: connects its editors, edits at the planned rate,
 * drains, and reports (histograms serialised for merging by the coordinator).
 * Editor g (over all documents) belongs to worker g % workers.
 */
import * as Y from 'yjs'
import { nowMs } from './clock.ts'
import { Editor, StampCache, type Protocol } from './editor.ts'
import { createHistogram, encodeHistogram, recordMs } from '../../shared/histogram.ts'
import { canonicalJson, type WorkerReport } from './report.ts'

export interface LoadPlan {
  /** Server URL, or several separated by commas (cluster nodes; each document's editors spread over them). */
  readonly url: string
  readonly protocol: Protocol
  readonly docs: number
  readonly editorsPerDoc: number
  /** Updates per second per editor (0 = connect only). */
  readonly rate: number
  readonly awarenessHz: number
  readonly payload: number
  readonly durationS: number
  readonly docPrefix: string
  readonly workers: number
  /** Editors per document that apply every update, for the convergence check. */
  readonly replicasPerDoc: number
  /** A token for servers with access control: `?token=` as WebsocketProvider's params send it, or a Hocuspocus auth message's token. */
  readonly token?: string | undefined
}

export interface Progress {
  sent: number
  deliveries: number
  errors: number
  /** Deliveries per second over this share's last progress interval. */
  perSecond: number
}

/**
 * `startAt`: called once this share's editors are connected; resolves with the instant
 * (nowMs clock, shared by all processes) at which every worker starts editing, so all
 * shares send during the same window and nobody disconnects while others still send.
 */
export async function runShare(plan: LoadPlan, worker: number, onProgress?: (p: Progress) => void, startAt?: () => Promise<number>): Promise<WorkerReport> {
  const latency = createHistogram()
  const syncTime = createHistogram()
  const poseLatency = createHistogram()
  const crossNodeLatency = createHistogram()
  // Several URLs (cluster nodes): the editors of each document are spread over them.
  const urls = plan.url.split(',')
  const errors = { connect: 0, closed: 0, protocol: 0 }
  let deliveries = 0
  const editors: { editor: Editor; doc: number }[] = []
  const stamps = new StampCache()
  for (let g = worker; g < plan.docs * plan.editorsPerDoc; g += plan.workers) {
    const doc = Math.floor(g / plan.editorsPerDoc)
    const slot = g % plan.editorsPerDoc
    const editor = new Editor({
      url: urls[slot % urls.length]!,
      node: slot % urls.length,
      docName: `${plan.docPrefix}${doc}`,
      protocol: plan.protocol,
      index: slot,
      replica: slot < plan.replicasPerDoc,
      token: plan.token,
      payload: plan.payload,
      stamps,
      events: {
        delivery: (ms, crossNode) => {
          recordMs(latency, ms)
          if (crossNode) recordMs(crossNodeLatency, ms)
          deliveries++
        },
        error: (kind) => errors[kind]++,
        pose: (ms) => recordMs(poseLatency, ms),
      },
    })
    editors.push({ editor, doc })
  }

  // Connect in waves, so thousands of editors do not all hit the accept queue at once.
  const connected: typeof editors = []
  for (let i = 0; i < editors.length; i += 100) {
    const wave = editors.slice(i, i + 100)
    const results = await Promise.allSettled(wave.map((e) => e.editor.connect()))
    results.forEach((r, k) => {
      if (r.status === 'fulfilled') {
        connected.push(wave[k]!)
        recordMs(syncTime, wave[k]!.editor.syncedAfterMs!)
      }
    })
  }

  const t0 = startAt ? await startAt() : nowMs()
  if (t0 > nowMs()) await new Promise((r) => setTimeout(r, t0 - nowMs()))
  const cpu0 = process.cpuUsage()
  const end = t0 + plan.durationS * 1000
  const timers: NodeJS.Timeout[] = []
  let last = { deliveries: 0, at: nowMs() }
  const progress = onProgress
    ? setInterval(() => {
        const now = nowMs()
        const perSecond = ((deliveries - last.deliveries) * 1000) / Math.max(1, now - last.at)
        last = { deliveries, at: now }
        onProgress({ sent: connected.reduce((a, e) => a + e.editor.sent, 0), deliveries, errors: errors.closed + errors.protocol, perSecond })
      }, 1000)
    : null
  await new Promise<void>((resolve) => {
    if (plan.rate > 0) {
      const interval = 1000 / plan.rate
      connected.forEach(({ editor }, i) => {
        // Phase-shift editors so their sends spread evenly over the interval.
        const start = setTimeout(
          () => {
            const tick = () => {
              if (nowMs() < end) editor.edit()
            }
            tick()
            timers.push(setInterval(tick, interval))
          },
          (i * interval) / Math.max(1, connected.length),
        )
        timers.push(start)
      })
    }
    if (plan.awarenessHz > 0) {
      const interval = 1000 / plan.awarenessHz
      for (const { editor } of connected) timers.push(setInterval(() => nowMs() < end && editor.pose(), interval))
    }
    timers.push(setTimeout(resolve, plan.durationS * 1000))
  })
  for (const t of timers) clearInterval(t)

  // Drain: wait until deliveries stop arriving (500 ms of quiet), at most 10 s.
  const drainDeadline = nowMs() + 10_000
  let seen = -1
  while (deliveries !== seen && nowMs() < drainDeadline) {
    seen = deliveries
    await new Promise((r) => setTimeout(r, 500))
  }
  if (progress) clearInterval(progress)
  const elapsedMs = nowMs() - t0
  const cpu = process.cpuUsage(cpu0)

  const sentPerDoc: Record<number, number> = {}
  const connectedPerDoc: Record<number, number> = {}
  for (const { editor, doc } of connected) {
    sentPerDoc[doc] = (sentPerDoc[doc] ?? 0) + editor.sent
    connectedPerDoc[doc] = (connectedPerDoc[doc] ?? 0) + 1
  }
  const replicas = connected
    .filter(({ editor }) => editor.opts.replica)
    .map(({ editor }) => ({
      doc: editor.opts.docName,
      stateVector: Buffer.from(Y.encodeStateVector(editor.doc)).toString('base64'),
      content: canonicalJson({
        objects: editor.doc.getMap('objects').toJSON(),
        anchors: editor.doc.getMap('anchors').toJSON(),
        transcripts: editor.doc.getMap('transcripts').toJSON(),
        lt: editor.doc.getMap('lt').toJSON(),
      }),
    }))
  for (const { editor } of editors) editor.close()
  return {
    editors: connected.length,
    sentPerDoc,
    connectedPerDoc,
    deliveries,
    latency: encodeHistogram(latency),
    syncTime: encodeHistogram(syncTime),
    poseLatency: encodeHistogram(poseLatency),
    crossNodeLatency: encodeHistogram(crossNodeLatency),
    errors,
    replicas,
    cpuMs: (cpu.user + cpu.system) / 1000,
    elapsedMs,
  }
}
