/**
 * `atrium-bot xr --headsets N --hz H`: client/xr's fleet (its own Sites, one per headset, as
 * separate devices would be), with the bots' flags and report. It runs for `--duration`
 * (default XR_DEFAULT_DURATION_S) or until SIGINT, and reports either way.
 */
import { type FleetReport, formatFleetReport, runFleet } from '../xr/fleet.ts'
import type { BotContext, BotReport } from './bot.ts'
import type { XrFlags } from './flags.ts'

export const XR_DEFAULT_DURATION_S = 10

export async function runXr(flags: XrFlags, ctx: BotContext): Promise<BotReport> {
  const started = performance.now()
  const durationS = flags.durationS ?? XR_DEFAULT_DURATION_S
  ctx.log(`xr: ${flags.headsets} headsets at ${flags.hz} Hz for ${durationS} s on ${flags.doc}`)
  const fleet = runFleet({
    urls: flags.urls,
    doc: flags.doc,
    headsets: flags.headsets,
    hz: flags.hz,
    durationS,
    seed: flags.seed,
    anchors: flags.anchors,
    signal: ctx.signal,
    ...(flags.token !== undefined ? { token: flags.token } : {}),
  })
  const report = await fleet
  const base = { bot: 'xr' as const, doc: flags.doc, node: flags.urls.join(','), seconds: Math.round(performance.now() - started) / 1000, unconfirmed: 0 }
  return {
    ...base,
    stoppedBy: ctx.signal.aborted ? 'signal' : 'duration',
    stats: fleetStats(report),
    summary: formatFleetReport(report).split('\n').join('; '),
  }
}

/** The fleet's report without its per-headset rows (the JSON report stays readable for 50 headsets). */
function fleetStats(r: FleetReport): Record<string, unknown> {
  const { perHeadset: _perHeadset, ...rest } = r
  return rest
}
