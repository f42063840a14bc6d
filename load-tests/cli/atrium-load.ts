/**
 * atrium-load: the load-test CLI. Coordinates worker processes (each runs its share of the
 * editors), merges their HDR histograms, prints a live progress line and a final table,
 * writes the JSON report, and exits non-zero when an SLO is broken.
 */
import { fork } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { mergeReports, sloViolations, type FinalReport, type WorkerReport } from '../core/report.ts'
import { nowMs } from '../core/clock.ts'
import { runShare, type LoadPlan, type Progress } from '../core/run.ts'
import { parseCli, USAGE, UsageError, type CliOptions } from './args.ts'

const SELF = fileURLToPath(import.meta.url)
const MAX_RAMP_STEPS = 12

interface WorkerMessage {
  kind: 'ready' | 'progress' | 'report' | 'error'
  progress?: Progress
  report?: WorkerReport
  error?: string
}

/** Runs one load over `plan.workers` processes (in this process when 1). */
export async function runLoad(plan: LoadPlan, onProgress?: (p: Progress) => void): Promise<FinalReport> {
  if (plan.workers === 1) return mergeReports([await runShare(plan, 0, onProgress)], plan.durationS)
  const latest: Progress[] = Array.from({ length: plan.workers }, () => ({ sent: 0, deliveries: 0, errors: 0, perSecond: 0 }))
  const children: ReturnType<typeof fork>[] = []
  let ready = 0
  const reports = await Promise.all(
    Array.from(
      { length: plan.workers },
      (_, index) =>
        new Promise<WorkerReport>((resolve, reject) => {
          const child = fork(SELF, [], {
            execArgv: SELF.endsWith('.ts') ? ['--import', 'tsx'] : [],
            env: { ...process.env, ATRIUM_LOAD_WORKER: String(index) },
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          })
          children.push(child)
          child.on('message', (m: WorkerMessage) => {
            if (m.kind === 'ready' && ++ready === plan.workers) {
              // Everyone connected: start together, shortly from now, on the shared clock.
              const at = nowMs() + 100
              for (const c of children) c.send({ start: at })
            } else if (m.kind === 'progress' && m.progress) {
              latest[index] = m.progress
              onProgress?.(
                latest.reduce((a, p) => ({
                  sent: a.sent + p.sent,
                  deliveries: a.deliveries + p.deliveries,
                  errors: a.errors + p.errors,
                  perSecond: a.perSecond + p.perSecond,
                })),
              )
            } else if (m.kind === 'report' && m.report) resolve(m.report)
            else if (m.kind === 'error') reject(new Error(`worker ${index}: ${m.error}`))
          })
          child.on('exit', (code) => code !== 0 && reject(new Error(`worker ${index} exited with ${code}`)))
          child.send(plan)
        }),
    ),
  )
  return mergeReports(reports, plan.durationS)
}

function progressPrinter(durationS: number, label: string) {
  const tty = process.stderr.isTTY
  const started = Date.now()
  let lastPlain = 0
  return {
    update(p: Progress) {
      const now = Date.now()
      // Each worker measures its own rate over its own interval; the sum is the total.
      const rate = p.perSecond
      const line = `${label}${Math.min(durationS, (now - started) / 1000).toFixed(0)}/${durationS}s  sent ${p.sent}  delivered ${p.deliveries}  (${rate.toFixed(0)}/s)  errors ${p.errors}`
      if (tty) process.stderr.write(`\r\x1b[2K${line}`)
      else if (now - lastPlain >= 5000) {
        lastPlain = now
        process.stderr.write(`${line}\n`)
      }
    },
    done() {
      if (tty) process.stderr.write('\r\x1b[2K')
    },
  }
}

export function formatReport(r: FinalReport): string {
  const l = r.latencyMs
  const rows: [string, string][] = [
    ['editors', `${r.editors}`],
    ['updates sent', `${r.updatesSent}`],
    ['deliveries', `${r.deliveriesReceived} of ${r.deliveriesExpected} (loss ${r.lossPct.toFixed(3)} %)`],
    ['deliveries/s', r.deliveriesPerSecond.toFixed(0)],
    ['latency ms', `p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p999}  max ${l.max}`],
    ...(r.crossNodeLatencyMs.count > 0
      ? [
          [
            'cross-node ms',
            `p50 ${r.crossNodeLatencyMs.p50}  p90 ${r.crossNodeLatencyMs.p90}  p99 ${r.crossNodeLatencyMs.p99}  max ${r.crossNodeLatencyMs.max}  (${r.crossNodeLatencyMs.count} deliveries)`,
          ] as [string, string],
        ]
      : []),
    ...(r.poseLatencyMs.count > 0
      ? [
          ['pose latency ms', `p50 ${r.poseLatencyMs.p50}  p99 ${r.poseLatencyMs.p99}  max ${r.poseLatencyMs.max}  (${r.poseLatencyMs.count} sampled)`] as [
            string,
            string,
          ],
        ]
      : []),
    ['first sync ms', `p50 ${r.timeToFirstSyncMs.p50}  p99 ${r.timeToFirstSyncMs.p99}  max ${r.timeToFirstSyncMs.max}`],
    ['errors', `connect ${r.errors.connect}  closed ${r.errors.closed}  protocol ${r.errors.protocol}`],
    ['convergence', r.convergence.converged ? `ok (${r.convergence.checked} replicas)` : `DIVERGED: ${r.convergence.divergent.join(', ')}`],
    ['generator CPU', `${r.generatorCpuPct.toFixed(0)} % of one core${r.generatorCpuPct > 80 ? '  (saturated: add --workers)' : ''}`],
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')
}

async function coordinate(opts: CliOptions): Promise<number> {
  const { plan, slo } = opts
  const steps: { rate: number; report: FinalReport; violations: string[] }[] = []
  let rate = plan.rate
  for (let step = 0; step < (opts.ramp ? MAX_RAMP_STEPS : 1); step++) {
    const stepPlan = { ...plan, rate, docPrefix: opts.ramp ? `${plan.docPrefix}step${step}/` : plan.docPrefix }
    const label = opts.ramp ? `[rate ${rate.toFixed(1)}/s] ` : ''
    const progress = progressPrinter(plan.durationS, label)
    const report = await runLoad(stepPlan, (p) => progress.update(p))
    progress.done()
    const violations = sloViolations(report, slo)
    steps.push({ rate, report, violations })
    console.log(`${opts.ramp ? `step ${step + 1}: ${rate.toFixed(1)} updates/s per editor` : 'result'}\n${formatReport(report)}`)
    if (violations.length > 0) {
      console.log(`  SLO broken: ${violations.join('; ')}`)
      break
    }
    rate *= opts.rampFactor
  }
  const last = steps[steps.length - 1]!
  const sustained = opts.ramp ? [...steps].reverse().find((s) => s.violations.length === 0) : undefined
  if (opts.ramp) {
    console.log(
      sustained
        ? `sustained: ${sustained.report.deliveriesPerSecond.toFixed(0)} deliveries/s at ${sustained.rate.toFixed(1)} updates/s per editor`
        : 'sustained: none (the first step already broke the SLO)',
    )
  }
  if (opts.json) {
    const out = opts.ramp
      ? {
          plan,
          slo,
          steps: steps.map((s) => ({ rate: s.rate, ...s.report, violations: s.violations })),
          sustained: sustained ? { rate: sustained.rate, deliveriesPerSecond: sustained.report.deliveriesPerSecond } : null,
        }
      : { plan, slo, ...last.report, violations: last.violations }
    writeFileSync(opts.json, `${JSON.stringify(out, null, 2)}\n`)
  }
  // A ramp is expected to end by breaking the SLO; it fails only when no step held.
  if (opts.ramp) return sustained ? 0 : 1
  return last.violations.length > 0 ? 1 : 0
}

async function workerMain(index: number): Promise<void> {
  process.once('message', (plan: LoadPlan) => {
    const startAt = () =>
      new Promise<number>((resolve) => {
        process.once('message', (m: { start: number }) => resolve(m.start))
        process.send!({ kind: 'ready' } satisfies WorkerMessage)
      })
    runShare(plan, index, (progress) => process.send!({ kind: 'progress', progress } satisfies WorkerMessage), startAt).then(
      (report) => process.send!({ kind: 'report', report } satisfies WorkerMessage, () => process.exit(0)),
      (err: Error) => process.send!({ kind: 'error', error: err.message } satisfies WorkerMessage, () => process.exit(1)),
    )
  })
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.env.ATRIUM_LOAD_WORKER !== undefined) {
    void workerMain(Number(process.env.ATRIUM_LOAD_WORKER))
  } else {
    let opts: CliOptions
    try {
      opts = parseCli(process.argv.slice(2))
    } catch (err) {
      if (!(err instanceof UsageError)) throw err
      process.stderr.write(`atrium-load: ${err.message}\n\n${USAGE}\n`)
      process.exit(2)
    }
    if (opts.help) {
      console.log(USAGE)
      process.exit(0)
    }
    coordinate(opts).then(
      (code) => process.exit(code),
      (err: Error) => {
        process.stderr.write(`atrium-load: ${err.message}\n`)
        process.exit(1)
      },
    )
  }
}
