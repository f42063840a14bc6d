/**
 * Fair turns for incoming frames. uWS hands over every complete frame it has read within one
 * turn of the event loop, so a client that sends thousands of frames at once (each cheap)
 * could hold the loop with all of them together. Within a turn, a connection's frames run
 * until it has spent `perConnectionMs`, and all connections together `perTurnMs`; the rest wait
 * in their connection's backlog (in order, bounded) and run in the next turns, round robin.
 * Honest clients never meet these budgets: their frames take microseconds.
 */
import type Denque from 'denque'

export interface Backlogged {
  readonly closed: boolean
  /** Frames waiting for a later turn, in order (a deque: taking the first of 100,000 is O(1), where `Array#shift` copies them all). */
  readonly backlog: Denque<Uint8Array>
  backlogBytes: number
  /** The turn `turnMs` was counted in. */
  turn: number
  turnMs: number
}

export interface FrameTurnsOptions<C extends Backlogged> {
  readonly perConnectionMs: number
  readonly perTurnMs: number
  readonly maxMessages: number
  readonly maxBytes: number
  /** Handles one frame now. */
  readonly run: (conn: C, frame: Uint8Array) => void
  /** The connection's backlog is full: it is refused (closed). */
  readonly overflow: (conn: C) => void
}

export class FrameTurns<C extends Backlogged> {
  private turn = 1
  private spent = 0
  private armed = false
  /** Connections with a backlog, in the order they got one (round robin). */
  private readonly waiting = new Set<C>()

  constructor(private readonly opts: FrameTurnsOptions<C>) {}

  /** A frame from `conn`: runs now, or waits behind its backlog or the turn's budgets. */
  offer(conn: C, frame: Uint8Array): void {
    this.arm()
    if (conn.backlog.length === 0 && this.spent < this.opts.perTurnMs && this.spentBy(conn) < this.opts.perConnectionMs) return this.exec(conn, frame)
    if (conn.backlog.length >= this.opts.maxMessages || conn.backlogBytes + frame.length > this.opts.maxBytes) return this.opts.overflow(conn)
    conn.backlog.push(frame)
    conn.backlogBytes += frame.length
    this.waiting.add(conn)
  }

  /** Frames waiting, all connections together. */
  get backlog(): number {
    let n = 0
    for (const c of this.waiting) n += c.backlog.length
    return n
  }

  private spentBy(conn: C): number {
    return conn.turn === this.turn ? conn.turnMs : 0
  }

  private exec(conn: C, frame: Uint8Array): void {
    const started = performance.now()
    this.opts.run(conn, frame)
    const ms = performance.now() - started
    this.spent += ms
    if (conn.turn !== this.turn) {
      conn.turn = this.turn
      conn.turnMs = 0
    }
    conn.turnMs += ms
  }

  /** The next turn starts once this one's I/O callbacks are done. */
  private arm(): void {
    if (this.armed) return
    this.armed = true
    setImmediate(this.nextTurn)
  }

  private readonly nextTurn = (): void => {
    this.armed = false
    this.turn++
    this.spent = 0
    this.drain()
  }

  private drain(): void {
    while (this.waiting.size > 0 && this.spent < this.opts.perTurnMs) {
      let ran = false
      for (const conn of this.waiting) {
        if (conn.closed) {
          this.forget(conn)
          continue
        }
        if (this.spentBy(conn) >= this.opts.perConnectionMs) continue
        const frame = conn.backlog.shift()!
        conn.backlogBytes -= frame.length
        if (conn.backlog.length === 0) this.waiting.delete(conn)
        this.exec(conn, frame)
        ran = true
        if (this.spent >= this.opts.perTurnMs) break
      }
      if (!ran) break
    }
    if (this.waiting.size > 0) this.arm()
  }

  private forget(conn: C): void {
    conn.backlog.clear()
    conn.backlogBytes = 0
    this.waiting.delete(conn)
  }
}
