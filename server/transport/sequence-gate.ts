/**
 * A node-wide bound on the bytes that long sequences (large first syncs) keep buffered in the
 * sockets at once. Each socket already paces its own sequence by what it buffers
 * (connection.ts); without a bound across them, 500 joiners of a 20 MB building would each
 * buffer a megabyte or two, all at once. Past the bound a socket waits its turn; a socket that
 * drains, finishes or closes wakes the waiters, in the order they came.
 *
 * What a socket holds is read from uWS (`getBufferedAmount`) whenever it sends or drains: an
 * estimate between reads, never a count that can drift.
 */
export interface GatedSocket {
  /** Bytes uWS buffers for it now. */
  readonly buffered: number
  /** Sends what waits, as far as its own pace and the gate allow. */
  pump(): void
}

export class SequenceGate {
  private held = 0
  private readonly shares = new Map<GatedSocket, number>()
  private readonly waiting = new Set<GatedSocket>()
  private waking = false

  constructor(private readonly maxBytes: number) {}

  /** Bytes the sequences hold buffered, all sockets together (as last read). */
  get buffered(): number {
    return this.held
  }

  /** Reads what `socket` buffers now; wakes the waiters when it shrank. */
  update(socket: GatedSocket): void {
    const before = this.shares.get(socket) ?? 0
    const now = socket.buffered
    if (now === before) return
    if (now === 0) this.shares.delete(socket)
    else this.shares.set(socket, now)
    this.held += now - before
    if (now < before) this.wake()
  }

  /**
   * Whether one more frame of a sequence may go. Shares are never stale (a socket that holds
   * bytes gets a drain event, whose pump reads it again), so waiting sockets are always woken:
   * nobody starves, and 500 joiners never each buffer a frame past the bound.
   */
  mayBuffer(): boolean {
    return this.held < this.maxBytes
  }

  /** `socket` has more to send but no room: it is pumped again when room is made. */
  wait(socket: GatedSocket): void {
    this.waiting.add(socket)
  }

  /** `socket` finished its sequence or closed. */
  done(socket: GatedSocket): void {
    this.waiting.delete(socket)
    const share = this.shares.get(socket)
    if (share === undefined) return
    this.shares.delete(socket)
    this.held -= share
    this.wake()
  }

  private wake(): void {
    if (this.waking) return
    this.waking = true
    try {
      for (const socket of this.waiting) {
        if (this.held >= this.maxBytes) break
        this.waiting.delete(socket)
        socket.pump()
      }
    } finally {
      this.waking = false
    }
  }
}
