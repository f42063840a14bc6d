/**
 * Fair turns for incoming messages. uWS hands over every complete frame it has read within one
 * turn of the event loop, so a client that sends thousands of frames at once (each cheap)
 * could hold the loop with all of them together. Within a turn, a sender's messages run until
 * it has spent `perSenderMs`, and all senders together `perTurnMs`; the rest wait in their
 * sender's backlog (in order, bounded) and run in the next turns, round robin. A sender is a
 * session (order matters within a document, and every client quota is per session).
 * Honest clients never meet these budgets: their messages take microseconds.
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
  readonly perSenderMs: number
  readonly perTurnMs: number
  readonly maxMessages: number
  readonly maxBytes: number
  /** Handles one frame now. */
  readonly run: (sender: C, frame: Uint8Array) => void
  /** The sender's backlog is full: it is refused (closed). */
  readonly overflow: (sender: C) => void
}

export class FrameTurns<C extends Backlogged> {
  private turn = 1
  private spent = 0
  private armed = false
  /** Senders with a backlog, in the order they got one (round robin). */
  private readonly waiting = new Set<C>()

  constructor(private readonly opts: FrameTurnsOptions<C>) {}

  /** A frame from `sender`: runs now, or waits behind its backlog or the turn's budgets. */
  offer(sender: C, frame: Uint8Array): void {
    this.arm()
    if (sender.backlog.length === 0 && this.spent < this.opts.perTurnMs && this.spentBy(sender) < this.opts.perSenderMs) {
      this.exec(sender, frame)
      return
    }
    if (sender.backlog.length >= this.opts.maxMessages || sender.backlogBytes + frame.length > this.opts.maxBytes) {
      this.opts.overflow(sender)
      return
    }
    sender.backlog.push(frame)
    sender.backlogBytes += frame.length
    this.waiting.add(sender)
  }

  /** Messages waiting, all senders together. */
  get backlog(): number {
    let n = 0
    for (const c of this.waiting) n += c.backlog.length
    return n
  }

  private spentBy(sender: C): number {
    return sender.turn === this.turn ? sender.turnMs : 0
  }

  private exec(sender: C, frame: Uint8Array): void {
    const started = performance.now()
    this.opts.run(sender, frame)
    const ms = performance.now() - started
    this.spent += ms
    if (sender.turn !== this.turn) {
      sender.turn = this.turn
      sender.turnMs = 0
    }
    sender.turnMs += ms
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
      for (const sender of this.waiting) {
        if (sender.closed) {
          this.forget(sender)
          continue
        }
        if (this.spentBy(sender) >= this.opts.perSenderMs) continue
        const frame = sender.backlog.shift()!
        sender.backlogBytes -= frame.length
        if (sender.backlog.length === 0) this.waiting.delete(sender)
        this.exec(sender, frame)
        ran = true
        if (this.spent >= this.opts.perTurnMs) break
      }
      if (!ran) break
    }
    if (this.waiting.size > 0) this.arm()
  }

  private forget(sender: C): void {
    sender.backlog.clear()
    sender.backlogBytes = 0
    this.waiting.delete(sender)
  }
}
