/**
 * Turns of the event loop for long work (large updates, loads): a job awaits `next()` before
 * each slice of its work, and at most `perTurn` slices run per turn, so however many jobs are
 * in flight, one turn of the loop does at most `perTurn` slices of work before I/O is served
 * again. Jobs are served in the order they asked.
 */
export class Turns {
  private readonly waiting: (() => void)[] = []
  private scheduled = false

  constructor(private readonly perTurn: number) {}

  /** Resolves when this job may run its next slice. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve)
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(this.turn)
      }
    })
  }

  private readonly turn = (): void => {
    this.scheduled = false
    for (const resolve of this.waiting.splice(0, this.perTurn)) resolve()
    if (this.waiting.length > 0 && !this.scheduled) {
      this.scheduled = true
      setImmediate(this.turn)
    }
  }
}
