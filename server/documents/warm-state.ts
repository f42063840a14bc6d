/**
 * A large document's full state, kept ready for the next joiner who has none of it (the first
 * person to open a big building, and every joiner after a change), without encoding the
 * document on the event loop.
 *
 * The state is kept as parts: every update the Y.Doc emitted, stored slices included, in order
 * (their union is the document). Now and then the parts are merged and cut into chunks in a
 * worker (`rebase`: applied to a Y.Doc there, so deleted content is collected, then cut): the
 * base. A joiner gets the base's chunks and the parts since, as updates, the last as its sync
 * step 2. Parts that cannot go as they are (one larger than a chunk, as an upload is) make the
 * joiner wait for one rebase, shared by every joiner meanwhile; if large parts keep coming, or a
 * rebase failed, the answer is encoded from the document as before (`answer` gives null).
 *
 * Bounded: a rebase starts once updates pause (REBASE_QUIET_MS) with the parts past a quarter of
 * the base (or a chunk) in bytes, and at once past the base (or four chunks) or REBASE_PARTS in
 * count, so what is kept is at most about twice the encoded document, usually 1.25 times.
 */
export interface WarmStateOptions {
  /** Largest message of an answer; a part above it waits for a rebase. */
  readonly chunkBytes: number
  /** Merges updates into one and cuts it into chunks of about `chunkBytes`, off the event loop. */
  readonly rebase: (updates: Uint8Array[]) => Promise<Uint8Array[]>
  /** A rebase failed (the answer falls back to an encode): for logs. */
  readonly failed?: (err: unknown) => void
}

/** Parts kept before they are merged into the base, whatever their bytes. */
const REBASE_PARTS = 500
/** A rebase waits for the document to have had no update for this long (unless a joiner needs it, or the parts pass the base). */
const REBASE_QUIET_MS = 200

export class WarmState {
  private base: Uint8Array[] = []
  private baseBytes = 0
  private parts: Uint8Array[] = []
  private partsBytes = 0
  /** Parts larger than a chunk among `parts`: an answer must wait for a rebase while there are any. */
  private oversized = 0
  private rebasing: Promise<void> | null = null
  private quiet: NodeJS.Timeout | null = null
  /** A rebase failed: answers come from an encode of the document from then on (a worker that fails once is not asked again and again). */
  private broken = false
  private destroyed = false

  constructor(private readonly opts: WarmStateOptions) {}

  /** Whether answers can come from here (no rebase failed, not destroyed). */
  get usable(): boolean {
    return !this.broken && !this.destroyed
  }

  /** An update the document emitted (from storage, a client or another node), in order. */
  add(update: Uint8Array): void {
    if (!this.usable) return
    this.parts.push(update)
    this.partsBytes += update.length
    if (update.length > this.opts.chunkBytes) this.oversized++
    // A rebase merges the whole document: not while updates stream in (an upload comes as many
    // slices), but once they pause, or at once when the parts pass the base or REBASE_PARTS.
    if (this.parts.length > REBASE_PARTS || this.partsBytes > Math.max(4 * this.opts.chunkBytes, this.baseBytes)) return this.startRebase()
    if (this.partsBytes > Math.max(this.opts.chunkBytes, this.baseBytes / 4)) this.rebaseWhenQuiet()
  }

  private rebaseWhenQuiet(): void {
    if (this.quiet) clearTimeout(this.quiet)
    this.quiet = setTimeout(() => {
      this.quiet = null
      this.startRebase()
    }, REBASE_QUIET_MS)
    this.quiet.unref()
  }

  /** Bytes kept (base and parts). */
  get bytes(): number {
    return this.baseBytes + this.partsBytes
  }

  /**
   * The full state as update messages' payloads, in order (the caller sends the last as its
   * sync step 2), or null when it cannot be had (a rebase failed: encode the document instead).
   */
  async answer(): Promise<Uint8Array[] | null> {
    // The rebase running now may have started before the parts this answer needs; one started
    // after the request covers them. No more than that: a writer sending large parts during every
    // rebase must not keep a joiner waiting for ever (the caller encodes the document instead).
    if (this.oversized > 0 && this.rebasing) await this.rebasing
    if (this.oversized > 0 && this.usable) {
      this.startRebase()
      await this.rebasing
    }
    if (this.oversized > 0 || !this.usable) return null
    return [...this.base, ...this.parts]
  }

  private startRebase(): void {
    if (this.quiet) clearTimeout(this.quiet)
    this.quiet = null
    if (this.rebasing || this.destroyed || this.broken) return
    const taken = this.parts.length
    const input = [...this.base, ...this.parts]
    this.rebasing = this.opts.rebase(input).then(
      (chunks) => {
        this.rebasing = null
        if (this.destroyed) return
        // What arrived while the worker merged stays a part.
        const rest = this.parts.slice(taken)
        this.base = chunks
        this.baseBytes = chunks.reduce((n, c) => n + c.length, 0)
        this.parts = rest
        this.partsBytes = rest.reduce((n, p) => n + p.length, 0)
        this.oversized = rest.filter((p) => p.length > this.opts.chunkBytes).length
      },
      (err: unknown) => {
        this.rebasing = null
        this.broken = true
        this.clear()
        this.opts.failed?.(err)
      },
    )
  }

  destroy(): void {
    this.destroyed = true
    if (this.quiet) clearTimeout(this.quiet)
    this.clear()
  }

  private clear(): void {
    this.base = []
    this.parts = []
    this.baseBytes = 0
    this.partsBytes = 0
    this.oversized = 0
  }
}
