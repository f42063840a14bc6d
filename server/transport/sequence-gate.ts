/**
 * A node-wide bound on the bytes that long sequences (large first syncs) keep buffered in the
 * sockets at once. Each socket already paces its own sequence by what it buffers
 * (connection.ts); without a bound across them, 500 joiners of a 20 MB building would each
 * buffer a megabyte or two, all at once. Past the bound a socket waits its turn; a socket that
 * drains, finishes or closes wakes the waiters, in the order they came.
 *
 * What a socket holds is read from uWS (`getBufferedAmount`) whenever it sends or drains: an
 * estimate between reads, never a count that can drift. Only sockets with a sequence take part,
 * a share counts at most MAX_SHARE_BYTES (the rest is the socket's own fan-out backlog), and a
 * share that has not shrunk for STALL_MS stops counting: a client that stops reading holds its
 * own bytes (until its backpressure limit or idle timeout closes it), never everyone's turn.
 */
export interface GatedSocket {
  /** Bytes uWS buffers for it now. */
  readonly buffered: number
  /** Sends what waits, as far as its own pace and the gate allow. */
  pump(): void
}

/** What one socket's share may count: its pace and a frame (connection.ts paces at 1 MiB). */
const MAX_SHARE_BYTES = 2 * 1024 * 1024
/** A share that has not shrunk for this long is a stalled reader's: it stops counting. */
const STALL_MS = 10_000

interface Share {
  bytes: number
  /** When it last shrank (or began). */
  since: number
}

export class SequenceGate {
  private held = 0
  private readonly shares = new Map<GatedSocket, Share>()
  private readonly waiting = new Set<GatedSocket>()
  private waking = false

  constructor(private readonly maxBytes: number) {}

  /** Bytes the sequences hold buffered, all sockets together (as last read). */
  get buffered(): number {
    return this.held
  }

  /** Whether `socket` holds a share (its sequence's bytes not yet drained). */
  holds(socket: GatedSocket): boolean {
    return this.shares.has(socket)
  }

  /** Reads what `socket` buffers now; wakes the waiters when it shrank. */
  update(socket: GatedSocket, now = performance.now()): void {
    const share = this.shares.get(socket)
    const before = share?.bytes ?? 0
    const bytes = Math.min(socket.buffered, MAX_SHARE_BYTES)
    if (bytes === before) return
    if (bytes === 0) this.shares.delete(socket)
    else if (share) {
      share.bytes = bytes
      if (bytes < before) share.since = now
    } else this.shares.set(socket, { bytes, since: now })
    this.held += bytes - before
    if (bytes < before) this.wake()
  }

  /**
   * Whether one more frame of a sequence may go. A socket that holds bytes gets a drain event,
   * whose pump reads it again, so waiting sockets are woken as others drain; one that never
   * drains stops counting after STALL_MS. 500 joiners never each buffer a frame past the bound.
   */
  mayBuffer(now = performance.now()): boolean {
    if (this.held >= this.maxBytes) this.dropStalled(now)
    return this.held < this.maxBytes
  }

  /** Shares that have not shrunk for STALL_MS stop counting (a drain makes them count again). */
  private dropStalled(now: number): void {
    for (const [socket, share] of this.shares) {
      if (now - share.since < STALL_MS) continue
      this.shares.delete(socket)
      this.held -= share.bytes
    }
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
    this.held -= share.bytes
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
