/**
 * Many simulated headsets in one process, each its own Site (its own socket, as separate
 * devices would be), for demos and load: `atrium-bot xr --headsets 50 --hz 90` and
 * `npm run bench:xr` run this. Every headset walks, streams poses, places an anchor or a
 * few and moves them once a second; the report says what they sent and what each saw of
 * the others (pose latency, peers, anchors). Node: it opens sockets with `ws`.
 */
import WebSocket from 'ws'
import type * as Y from 'yjs'
import { createHistogram, type LatencySummary, summarize } from '../../shared/histogram.ts'
import { anchorsOf } from '../../shared/schema/document.ts'
import { connectSite, type Site } from '../sdk/index.ts'
import { Headset, type HeadsetStats } from './headset.ts'

export interface FleetOptions {
  /** One node's URL or several (each headset tries them in turn). */
  readonly urls: string | readonly string[]
  readonly doc: string
  readonly token?: string
  readonly getToken?: () => string | Promise<string>
  readonly headsets: number
  /** Poses per second per headset (capped at the server's default awareness quota). */
  readonly hz: number
  /** How long the headsets stream, in seconds. */
  readonly durationS: number
  /** Ends the streaming early (SIGINT in a bot); the report then covers the time they streamed. */
  readonly signal?: AbortSignal
  /** Anchors each headset places (default 1). */
  readonly anchors?: number
  /** The awareness rate each connection asks for (default: `hz`, which is full rate from 60 Hz). */
  readonly awarenessHz?: number
  /** Picks the headsets' paths: headset i walks path `seed + i` (default 1). */
  readonly seed?: number
  /** Default: the `ws` package's. */
  readonly WebSocket?: unknown
  /** How long to wait for the sync of every headset, and for the anchors to reach everyone after the run (default 30 s). */
  readonly timeoutMs?: number
  /** Called when the headsets start streaming and when they stop (a benchmark samples the server's CPU in between). */
  readonly onPhase?: (phase: 'streaming' | 'stopped') => void
}

export interface FleetReport {
  readonly headsets: number
  /** Poses per second each headset asked for, and the rate it sent at. */
  readonly hz: number
  readonly sendHz: number
  /** The awareness tier the server grants each headset (null: full rate). */
  readonly grantedTier: number | null
  /** How long they streamed, measured. */
  readonly durationS: number
  readonly posesSent: number
  readonly posesPerS: number
  /** Pose latency seen by the headsets from the others, all merged, in ms. */
  readonly latencyMs: LatencySummary
  /** The fewest other headsets any headset saw (every one saw every other: `headsets - 1`). */
  readonly peersSeenMin: number
  readonly anchorsCreated: number
  /** The fewest anchors any headset's document held at the end. */
  readonly anchorsSeenMin: number
  readonly perHeadset: readonly HeadsetStats[]
  /** Anchor moves the schema refused (someone else wrote the anchor), with why. */
  readonly anchorMovesRefused: readonly string[]
}

const MOVE_EVERY_MS = 1000

export async function runFleet(o: FleetOptions): Promise<FleetReport> {
  const timeoutMs = o.timeoutMs ?? 30_000
  const seed = o.seed ?? 1
  const awarenessHz = o.awarenessHz ?? o.hz
  const sites: Site[] = []
  const headsets: Headset[] = []
  let mover: ReturnType<typeof setInterval> | undefined
  const movesRefused: string[] = []
  // Every WebsocketProvider listens for the process's exit: N of them are expected here, not a leak.
  const maxListeners = process.getMaxListeners()
  if (maxListeners !== 0) process.setMaxListeners(maxListeners + o.headsets)
  try {
    for (let i = 0; i < o.headsets; i++)
      sites.push(
        connectSite({
          urls: o.urls,
          doc: o.doc,
          awarenessHz,
          WebSocket: o.WebSocket ?? WebSocket,
          ...(o.token !== undefined ? { token: o.token } : {}),
          ...(o.getToken ? { getToken: o.getToken } : {}),
        }),
      )
    await Promise.all(sites.map((s) => s.whenSynced({ timeoutMs })))
    headsets.push(...sites.map((site, i) => new Headset(site, { id: `xr-${seed + i}`, seed: seed + i, hz: o.hz })))
    o.onPhase?.('streaming')
    const started = performance.now()
    for (const h of headsets) {
      h.start()
      for (let a = 0; a < (o.anchors ?? 1); a++) h.createAnchor()
    }
    let turn = 0
    mover = setInterval(() => {
      for (const h of headsets) {
        if (h.anchors.length === 0) continue
        try {
          h.moveAnchor(h.anchors[turn % h.anchors.length]!)
        } catch (err) {
          // A refused write (SchemaError) is one headset's problem, not the fleet's end.
          movesRefused.push(`${h.name}: ${(err as Error).message}`)
        }
      }
      turn++
    }, MOVE_EVERY_MS)
    await runFor(o.durationS * 1000, o.signal)
    clearInterval(mover)
    const durationS = (performance.now() - started) / 1000
    for (const h of headsets) h.stop()
    o.onPhase?.('stopped')
    const anchorsCreated = headsets.reduce((n, h) => n + h.stats().anchorsCreated, 0)
    await Promise.all(sites.map((s) => s.whenConfirmed({ timeoutMs })))
    await Promise.all(sites.map((s) => anchorsArrive(s.doc, anchorsCreated, timeoutMs)))
    return { ...report(o, headsets, durationS, anchorsCreated), anchorMovesRefused: movesRefused }
  } finally {
    clearInterval(mover)
    for (const h of headsets) h.stop()
    for (const s of sites) s.close()
    process.setMaxListeners(maxListeners)
  }
}

/** The length of the run: resolves after `ms`, or when `signal` aborts. */
function runFor(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done)
    if (signal?.aborted) done()
  })
}

/** Resolves once `doc` holds `count` anchors, or after `ms` (the report then shows how many it had). */
function anchorsArrive(doc: Y.Doc, count: number, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (anchorsOf(doc).size < count) return
      doc.off('update', check)
      clearTimeout(timer)
      resolve()
    }
    const timer = setTimeout(() => {
      doc.off('update', check)
      resolve()
    }, ms)
    doc.on('update', check)
    check()
  })
}

function report(o: FleetOptions, headsets: readonly Headset[], durationS: number, anchorsCreated: number): Omit<FleetReport, 'anchorMovesRefused'> {
  const latency = createHistogram()
  for (const h of headsets) latency.add(h.peers.latency)
  const perHeadset = headsets.map((h) => h.stats())
  const posesSent = perHeadset.reduce((n, s) => n + s.posesSent, 0)
  const min = (values: number[]) => (values.length ? Math.min(...values) : 0)
  return {
    headsets: headsets.length,
    hz: o.hz,
    sendHz: headsets[0]?.sendHz ?? 0,
    grantedTier: headsets[0]?.grantedTier ?? null,
    durationS,
    posesSent,
    posesPerS: posesSent / durationS,
    latencyMs: summarize(latency),
    peersSeenMin: min(perHeadset.map((s) => s.peersSeen)),
    anchorsCreated,
    anchorsSeenMin: min(perHeadset.map((s) => s.anchorsSeen)),
    perHeadset,
  }
}

/** The report in a few lines, for a terminal. */
export function formatFleetReport(r: FleetReport): string {
  const l = r.latencyMs
  return [
    `${r.headsets} headsets at ${r.sendHz} Hz for ${r.durationS.toFixed(1)} s (tier granted: ${r.grantedTier === null ? 'full rate' : `${r.grantedTier} Hz`})`,
    `poses sent: ${r.posesSent} (${r.posesPerS.toFixed(0)}/s of ${r.headsets * r.sendHz}/s planned; fewer: frames dropped by a busy process)`,
    `pose latency (ms): p50 ${l.p50}  p99 ${l.p99}  max ${l.max}  (${l.count} poses received)`,
    `peers seen per headset (min): ${r.peersSeenMin} of ${r.headsets - 1}`,
    `anchors: ${r.anchorsCreated} created, ${r.anchorsSeenMin} seen by every headset (min)`,
    ...(r.anchorMovesRefused.length > 0 ? [`anchor moves refused: ${r.anchorMovesRefused.length} (first: ${r.anchorMovesRefused[0]})`] : []),
  ].join('\n')
}
