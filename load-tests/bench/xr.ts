/**
 * `npm run bench:xr`: 50 simulated XR headsets at 90 Hz on one node, through the SDK and the
 * XR client exactly as `atrium-bot xr` runs them (client/xr/fleet.ts), against the compiled
 * server. Reports the pose latency the headsets see from each other and the server's CPU
 * while they stream. The headsets share this one process: its CPU is printed too, since a
 * saturated client shows up as latency and as fewer poses sent than planned.
 *   npm run bench:xr [-- --headsets 50 --hz 90 --duration 20 --awareness-hz 30]
 * `--awareness-hz`: the rate each headset asks to receive the others at (the server's tiers:
 * 10, 30, or full from 60); full by default.
 */
import { parseArgs } from 'node:util'
import { formatFleetReport, runFleet } from '../../client/xr/fleet.ts'
import { killAllServers, startServerProcess } from '../harness/server-process.ts'
import { cpuSeconds } from './proc.ts'

const { values } = parseArgs({
  options: {
    headsets: { type: 'string', default: '50' },
    hz: { type: 'string', default: '90' },
    duration: { type: 'string', default: '20' },
    'awareness-hz': { type: 'string' },
  },
})

try {
  const server = await startServerProcess({}, undefined, { built: true })
  const pid = server.proc.pid!
  let at = { t: 0, server: 0, own: process.cpuUsage() }
  let streaming = { seconds: 0, serverPct: 0, ownPct: 0 }
  const report = await runFleet({
    urls: server.wsUrl,
    doc: 'site/bench-xr',
    headsets: Number(values.headsets),
    hz: Number(values.hz),
    durationS: Number(values.duration),
    anchors: 1,
    ...(values['awareness-hz'] ? { awarenessHz: Number(values['awareness-hz']) } : {}),
    onPhase: (phase) => {
      if (phase === 'streaming') at = { t: performance.now(), server: cpuSeconds(pid), own: process.cpuUsage() }
      else {
        const seconds = (performance.now() - at.t) / 1000
        const own = process.cpuUsage(at.own)
        streaming = { seconds, serverPct: ((cpuSeconds(pid) - at.server) / seconds) * 100, ownPct: ((own.user + own.system) / 1e6 / seconds) * 100 }
      }
    },
  })
  console.log(formatFleetReport(report))
  console.log(`while streaming: server CPU ${streaming.serverPct.toFixed(1)} % of a core; the headsets' process ${streaming.ownPct.toFixed(1)} % of a core`)
} finally {
  killAllServers()
}
