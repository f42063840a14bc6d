/**
 * Acknowledgements that wait for durability: a client that asked (Hocuspocus SyncStatus) is
 * told its update was applied only once storage says everything handed to it so far is
 * durable — the group commit's fsync, or the local write-ahead log in MongoDB mode. It only
 * reads the watermark (durability.ts) and is told when it moved; it never reaches into storage.
 *
 * Marks only grow, so waiting acknowledgements are in mark order: each advance runs a prefix.
 * While storage fails nothing advances and acknowledgements wait, as the updates themselves do.
 */
import Denque from 'denque'
import type { DurableWatermark } from './durability.ts'

interface Waiting {
  readonly mark: number
  readonly ack: () => void
}

export class DurableAcks {
  private readonly waiting = new Denque<Waiting>()

  constructor(private readonly watermark: DurableWatermark) {}

  /** Runs `ack` once every update handed to storage until now is durable: at once if it is. */
  whenDurable(ack: () => void): void {
    const mark = this.watermark.handed
    if (mark <= this.watermark.local) return ack()
    this.waiting.push({ mark, ack })
  }

  /** The watermark moved (after a durable append): runs the acknowledgements it covers. */
  advanced(): void {
    const local = this.watermark.local
    while (this.waiting.length > 0 && this.waiting.peekFront()!.mark <= local) this.waiting.shift()!.ack()
  }

  /** Acknowledgements still waiting for storage. */
  get pending(): number {
    return this.waiting.length
  }
}
