/**
 * A node-wide bound on bytes buffered for sockets that do not read (uWS keeps each socket's
 * unsent frames; MAX_BACKPRESSURE_BYTES bounds one socket, this bounds them all). Checked a few
 * times a second and after large fan-outs; past the budget, the sockets holding the most are
 * closed first until the node is well below it. A closed client reconnects and resyncs, so it
 * never holds a silent gap.
 */
import type { Connection } from './connection.ts'

export class OutboundBudget {
  /** Bytes fanned out since the last check (a hint to check early). */
  private sinceCheck = 0
  /** Buffered bytes at the last check (metrics). */
  buffered = 0

  constructor(
    private readonly connections: ReadonlySet<Connection>,
    private readonly maxBytes: number,
    private readonly tooSlow: (conn: Connection, buffered: number) => void,
  ) {}

  /** Told of bytes handed to uWS; checks at once after a burst of an eighth of the budget. */
  sent(bytes: number): void {
    this.sinceCheck += bytes
    if (this.sinceCheck > this.maxBytes / 8) this.check()
  }

  /** Closes the largest slow consumers while the node buffers more than its budget. */
  check(): void {
    this.sinceCheck = 0
    let total = 0
    const held: [Connection, number][] = []
    for (const conn of this.connections) {
      const bytes = conn.buffered
      if (bytes <= 0) continue
      total += bytes
      held.push([conn, bytes])
    }
    this.buffered = total
    if (total <= this.maxBytes) return
    held.sort((a, b) => b[1] - a[1])
    const target = this.maxBytes * 0.75
    for (const [conn, bytes] of held) {
      if (total <= target) break
      this.tooSlow(conn, bytes)
      total -= bytes
    }
    this.buffered = total
  }
}
