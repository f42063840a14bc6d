/** Pure pieces of the load test: merging worker reports, convergence, SLO verdicts. */
import { mergeHistograms, summarize, type LatencySummary } from '../../shared/histogram.ts'

export interface ReplicaState {
  readonly doc: string
  /** Base64 state vector. */
  readonly stateVector: string
  /** Canonical JSON of the content (keys sorted). */
  readonly content: string
}

export interface WorkerReport {
  readonly editors: number
  /** Per document index: updates sent and editors connected in this worker. */
  readonly sentPerDoc: Record<number, number>
  readonly connectedPerDoc: Record<number, number>
  readonly deliveries: number
  readonly latency: string
  readonly syncTime: string
  /** Awareness (pose) latency seen by the sampled replicas; empty without --awareness-hz. */
  readonly poseLatency: string
  /** Deliveries whose writer used another server URL (cluster node); empty with one URL. */
  readonly crossNodeLatency: string
  readonly errors: { connect: number; closed: number; protocol: number }
  readonly replicas: ReplicaState[]
  readonly cpuMs: number
  readonly elapsedMs: number
}

export interface Convergence {
  readonly checked: number
  readonly converged: boolean
  readonly divergent: string[]
}

/** Replicas of one document must hold identical state (same state vector and content). */
export function checkConvergence(replicas: readonly ReplicaState[]): Convergence {
  const byDoc = new Map<string, ReplicaState[]>()
  for (const r of replicas) byDoc.set(r.doc, [...(byDoc.get(r.doc) ?? []), r])
  const divergent: string[] = []
  for (const [doc, list] of byDoc) {
    const first = list[0]!
    if (list.some((r) => r.stateVector !== first.stateVector || r.content !== first.content)) divergent.push(doc)
  }
  return { checked: replicas.length, converged: divergent.length === 0, divergent }
}

/** JSON with object keys sorted, so two replicas with different insertion orders compare equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  )
}

export interface FinalReport {
  readonly editors: number
  readonly durationS: number
  readonly updatesSent: number
  readonly deliveriesExpected: number
  readonly deliveriesReceived: number
  readonly lossPct: number
  readonly deliveriesPerSecond: number
  readonly latencyMs: LatencySummary
  readonly timeToFirstSyncMs: LatencySummary
  /** Pose (awareness) latency from a sender to the sampled replicas; count 0 without poses. */
  readonly poseLatencyMs: LatencySummary
  /** Latency of deliveries between editors on different server URLs; count 0 with one URL. */
  readonly crossNodeLatencyMs: LatencySummary
  readonly errors: { connect: number; closed: number; protocol: number }
  readonly convergence: Convergence
  readonly generatorCpuPct: number
}

export function mergeReports(reports: readonly WorkerReport[], durationS: number): FinalReport {
  const sent = new Map<number, number>()
  const connected = new Map<number, number>()
  for (const r of reports) {
    for (const [d, n] of Object.entries(r.sentPerDoc)) sent.set(Number(d), (sent.get(Number(d)) ?? 0) + n)
    for (const [d, n] of Object.entries(r.connectedPerDoc)) connected.set(Number(d), (connected.get(Number(d)) ?? 0) + n)
  }
  let expected = 0
  let updatesSent = 0
  for (const [d, n] of sent) {
    updatesSent += n
    expected += n * Math.max(0, (connected.get(d) ?? 0) - 1)
  }
  const received = reports.reduce((a, r) => a + r.deliveries, 0)
  const errors = { connect: 0, closed: 0, protocol: 0 }
  for (const r of reports) for (const k of Object.keys(errors) as (keyof typeof errors)[]) errors[k] += r.errors[k]
  const elapsedS = Math.max(...reports.map((r) => r.elapsedMs), 1) / 1000
  return {
    editors: reports.reduce((a, r) => a + r.editors, 0),
    durationS,
    updatesSent,
    deliveriesExpected: expected,
    deliveriesReceived: received,
    lossPct: expected === 0 ? 0 : Math.max(0, (100 * (expected - received)) / expected),
    deliveriesPerSecond: received / durationS,
    latencyMs: summarize(mergeHistograms(reports.map((r) => r.latency))),
    timeToFirstSyncMs: summarize(mergeHistograms(reports.map((r) => r.syncTime))),
    poseLatencyMs: summarize(mergeHistograms(reports.map((r) => r.poseLatency))),
    crossNodeLatencyMs: summarize(mergeHistograms(reports.map((r) => r.crossNodeLatency))),
    errors,
    convergence: checkConvergence(reports.flatMap((r) => r.replicas)),
    generatorCpuPct: (100 * reports.reduce((a, r) => a + r.cpuMs, 0)) / 1000 / elapsedS,
  }
}

export interface Slo {
  readonly maxP99Ms?: number | undefined
  readonly maxLossPct?: number | undefined
}

/** Reasons the run broke its SLO (empty when it held). */
export function sloViolations(report: FinalReport, slo: Slo): string[] {
  const out: string[] = []
  if (slo.maxP99Ms !== undefined && report.latencyMs.p99 > slo.maxP99Ms) out.push(`p99 ${report.latencyMs.p99} ms > --max-p99 ${slo.maxP99Ms} ms`)
  if (slo.maxLossPct !== undefined && report.lossPct > slo.maxLossPct) out.push(`loss ${report.lossPct.toFixed(3)} % > --max-loss ${slo.maxLossPct} %`)
  if (!report.convergence.converged) out.push(`replicas diverged: ${report.convergence.divergent.join(', ')}`)
  if (report.errors.connect > 0) out.push(`${report.errors.connect} editors failed to connect`)
  return out
}
