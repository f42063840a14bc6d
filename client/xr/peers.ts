/**
 * What a headset sees of the other headsets: which ones it has seen streaming poses, and the
 * latency of each new pose (receive time minus the sender's `t`, in an HdrHistogram). Each
 * pose counts once, when its stamp first arrives: a peer changing its user or selection
 * re-sends its old pose, which is no new measurement. The clocks of two processes on one
 * machine agree; across machines the figure includes their offset.
 */
import { createHistogram, type Histogram, recordMs } from '../../shared/histogram.ts'
import { type Presence, wallClockMs } from '../sdk/presence.ts'

export class PeerPoses {
  readonly latency: Histogram = createHistogram()
  /** Every client id seen with a valid pose, gone ones included. */
  readonly seen = new Set<number>()
  private readonly lastStamp = new Map<number, number>()
  private readonly off: () => void

  constructor(
    private readonly presence: Presence,
    private readonly now: () => number = wallClockMs,
  ) {
    this.off = presence.onChange(({ added, updated, removed }) => {
      const at = this.now()
      for (const id of added) this.received(id, at)
      for (const id of updated) this.received(id, at)
      for (const id of removed) this.lastStamp.delete(id)
    })
  }

  get peersSeen(): number {
    return this.seen.size
  }

  private received(clientId: number, at: number): void {
    const xr = this.presence.peer(clientId)?.xr
    if (!xr || this.lastStamp.get(clientId) === xr.t) return
    this.lastStamp.set(clientId, xr.t)
    this.seen.add(clientId)
    recordMs(this.latency, at - xr.t)
  }

  close(): void {
    this.off()
  }
}
