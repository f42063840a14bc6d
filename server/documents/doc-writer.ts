/**
 * The one way updates reach a loaded document's Y.Doc, one at a time.
 *
 * - A client's update is admitted first (server/admission): bounds, modelled cost, and the
 *   site schema for site documents. Over a bound it is refused whole: nothing applied, stored
 *   or fanned out.
 * - Small work happens in the turn that received it (the common case: an edit is admitted and
 *   applied in microseconds). Anything larger becomes a job: admission, then the plan's slices,
 *   one slice per turn of the event loop (Turns), so no update holds the loop for more than
 *   one slice whatever its size.
 * - While a job runs the document is held: what else arrives for it (other clients' messages,
 *   other nodes' updates) waits in order and runs when the job is done, so admission always
 *   sees the document its plan is applied to. A session with messages waiting keeps its order too.
 * - Waiting is bounded per session (messages and bytes) and node-wide (bytes of jobs in flight):
 *   past it the session is refused with a retryable code, never silently dropped. So are the new
 *   client ids a session may add: counted on the session, never on its socket.
 */
import Denque from 'denque'
import * as Y from 'yjs'
import { Admission, type Admitted, type CheckFactory, type CheckFailure, type Refusal } from '../admission/admission.ts'
import { clientLimits, TRUSTED_LIMITS, type UpdateLimits } from '../admission/limits.ts'
import type { SlicePlan } from '../admission/slices.ts'
import type { Config } from '../config.ts'
import type { Session } from './session.ts'
import { Turns } from './turns.ts'

export interface WriterOptions {
  readonly limits: UpdateLimits
  /** New client ids one session may add over its life. */
  readonly maxSessionNewClients: number
  readonly check?: CheckFactory | undefined
  readonly checkFailure?: CheckFailure | undefined
  readonly turns: Turns
  /** Work done in the receiving turn before the rest goes to a job. */
  readonly inlineWork: number
  readonly sliceWork: number
  /** Node-wide: bytes of updates in jobs; past it, large updates are refused as "busy". */
  readonly inFlight: { bytes: number; readonly max: number }
  /** Per session: messages and bytes that may wait behind a job (an upload arrives faster than it is applied). */
  readonly maxWaitingMessages: number
  readonly maxWaitingBytes: number
  /** Node-wide: bytes waiting behind jobs, all documents together. */
  readonly waitingTotal: { bytes: number; readonly max: number }
  /** Told of every admission decision (metrics, logs). */
  readonly observe?: ((outcome: Admitted | Refusal, origin: 'client' | 'remote') => void) | undefined
}

/** Work (about ns) of an update done in the turn that received it; more goes to slices over later turns. */
const INLINE_WORK = 5e6
/** Work of one slice, and slices per turn of the event loop: about 10 ms of large-update work per turn. */
const SLICE_WORK = 5e6
const SLICES_PER_TURN = 2

/** The server's writer options for its configuration (one set per node: the bounds are node-wide). */
export function writerOptions(config: Config): WriterOptions {
  return {
    limits: clientLimits(config),
    // Named for the y-websocket framing, where a connection carries one session.
    maxSessionNewClients: config.MAX_CONNECTION_NEW_CLIENTS,
    turns: new Turns(SLICES_PER_TURN),
    inlineWork: INLINE_WORK,
    sliceWork: SLICE_WORK,
    inFlight: { bytes: 0, max: 8 * config.MAX_MESSAGE_BYTES },
    // A client replaying typing sends thousands of tiny frames at once: bounded by bytes, and by a count far above that.
    maxWaitingMessages: 100_000,
    maxWaitingBytes: 8 * config.MAX_MESSAGE_BYTES,
    waitingTotal: { bytes: 0, max: 32 * config.MAX_MESSAGE_BYTES },
  }
}

interface Waiting {
  readonly session: Session | null
  readonly bytes: number
  readonly run: () => void
}

/** Remote updates larger than this are applied as a job (in slices), smaller ones at once; client updates this small never count as "large" for the in-flight bound. */
const REMOTE_INLINE_BYTES = 64 * 1024

export class DocWriter {
  private job: Promise<void> | null = null
  /** In arrival order (a deque: `Array#shift` over 100,000 waiting messages would copy them all each time). */
  private waiting = new Denque<Waiting>()
  private readonly waitingOf = new Map<Session | null, { messages: number; bytes: number }>()
  private destroyed = false

  constructor(
    private readonly doc: Y.Doc,
    /** The transaction origin of a remote update. */
    private readonly remoteOrigin: unknown,
    private readonly opts: WriterOptions,
  ) {}

  /**
   * Whether `session`'s next message must wait: it has messages waiting already (its order is kept).
   * A session with nothing waiting is served at once even while a job holds the document: reads
   * (a joiner's sync step 1, awareness) see a consistent document between slices; only its
   * updates wait, and `fromClient` queues those itself.
   */
  mustWait(session: Session | null): boolean {
    return this.waitingOf.has(session)
  }

  /** A job holds the document (a large update being admitted or applied in slices). */
  get busy(): boolean {
    return this.job !== null
  }

  /** Resolves when no job holds the document. */
  async idle(): Promise<void> {
    while (this.job) await this.job
  }

  /**
   * Runs `run` once the document is free, after what is already waiting. False when the
   * session's waiting room is full (the caller refuses the session).
   */
  defer(session: Session | null, bytes: number, run: () => void): boolean {
    let mine = this.waitingOf.get(session)
    if (!mine) this.waitingOf.set(session, (mine = { messages: 0, bytes: 0 }))
    const total = this.opts.waitingTotal
    if (session && (mine.messages >= this.opts.maxWaitingMessages || mine.bytes + bytes > this.opts.maxWaitingBytes || total.bytes + bytes > total.max)) {
      if (mine.messages === 0) this.waitingOf.delete(session)
      return false
    }
    mine.messages++
    mine.bytes += bytes
    total.bytes += bytes
    this.waiting.push({ session, bytes, run })
    if (!this.job) this.drain()
    return true
  }

  /**
   * A client's update: a refusal decided now, or null (applied now, queued behind a job, or a
   * job itself; a later refusal goes to `session.refuse`). Call only when `mustWait(session)` is false.
   */
  fromClient(update: Uint8Array, session: Session): Refusal | null {
    const { opts } = this
    if (this.job) {
      const queued = this.defer(session, update.length, () => {
        const refusal = this.fromClient(update, session)
        if (refusal) session.refuse(refusal)
      })
      return queued
        ? null
        : {
            kind: 'limit',
            limit: 'queue',
            detail: `more than ${opts.maxWaitingMessages} messages or ${opts.maxWaitingBytes} bytes waiting (or the node's waiting room is full)`,
          }
    }
    if (update.length > REMOTE_INLINE_BYTES && opts.inFlight.bytes + update.length > opts.inFlight.max) {
      return { kind: 'limit', limit: 'busy', detail: `the server is applying ${Math.round(opts.inFlight.bytes / 1048576)} MiB of large updates; retry shortly` }
    }
    const admission = new Admission(this.doc, update, {
      limits: opts.limits,
      newClientsLeft: opts.maxSessionNewClients - session.newClients,
      check: opts.check,
      checkFailure: opts.checkFailure,
      sliceWork: opts.sliceWork,
    })
    if (admission.advance(opts.inlineWork)) {
      const result = this.decided(admission, session, 'client')
      if (!('plan' in result)) return result
      if (result.work <= opts.inlineWork) {
        for (let k = 0; k < result.plan.count; k++) Y.applyUpdate(this.doc, result.plan.slice(k), session)
        return null
      }
      // Admitted, but too much to apply in this turn: in slices.
      this.start(update.length, () => this.applySlices(result.plan, session))
      return null
    }
    this.start(update.length, async () => {
      while (!admission.advance(opts.sliceWork)) {
        await opts.turns.next()
        if (this.destroyed) return
      }
      const result = this.decided(admission, session, 'client')
      if ('plan' in result) await this.applySlices(result.plan, session)
      else session.refuse(result)
    })
    return null
  }

  private decided(admission: Admission, session: Session, origin: 'client'): Admitted | Refusal {
    const result = admission.result
    this.opts.observe?.(result, origin)
    if ('plan' in result) session.newClients += result.newClients
    return result
  }

  /** An update another node accepted (or an anti-entropy repair): applied at once if small, else in slices. */
  fromRemote(update: Uint8Array): void {
    if (this.job || this.waitingOf.has(null)) {
      this.defer(null, update.length, () => this.fromRemote(update))
      return
    }
    if (update.length <= REMOTE_INLINE_BYTES) {
      Y.applyUpdate(this.doc, update, this.remoteOrigin)
      return
    }
    const admission = new Admission(this.doc, update, { limits: TRUSTED_LIMITS, sliceWork: this.opts.sliceWork })
    this.start(update.length, async () => {
      while (!admission.advance(this.opts.sliceWork)) {
        await this.opts.turns.next()
        if (this.destroyed) return
      }
      const result = admission.result
      this.opts.observe?.(result, 'remote')
      // Another node admitted it; if this node's model disagrees, Yjs applies it whole (as before admission existed).
      await this.applySlices('plan' in result ? result.plan : { count: 1, work: [0], slice: () => update }, this.remoteOrigin)
    })
  }

  private async applySlices(plan: SlicePlan, origin: unknown): Promise<void> {
    for (let k = 0; k < plan.count; k++) {
      if (k > 0) await this.opts.turns.next()
      if (this.destroyed) return
      Y.applyUpdate(this.doc, plan.slice(k), origin)
    }
  }

  /** Holds the document for `body`; what arrives meanwhile waits. */
  private start(bytes: number, body: () => Promise<void>): void {
    this.opts.inFlight.bytes += bytes
    this.job = (async () => {
      try {
        // The receiving turn has had its share of work: the job starts on a later turn.
        await this.opts.turns.next()
        if (!this.destroyed) await body()
      } finally {
        this.opts.inFlight.bytes -= bytes
        this.job = null
        this.drain()
      }
    })()
  }

  /** Runs waiting messages in order until one starts a job. */
  private drain(): void {
    while (!this.job && this.waiting.length > 0 && !this.destroyed) {
      const w = this.waiting.shift()!
      const mine = this.waitingOf.get(w.session)!
      mine.messages--
      mine.bytes -= w.bytes
      this.opts.waitingTotal.bytes -= w.bytes
      if (mine.messages === 0) this.waitingOf.delete(w.session)
      w.run()
    }
  }

  /** Forgets what `session` has waiting (it left). */
  forget(session: Session): void {
    const mine = this.waitingOf.get(session)
    if (!mine) return
    this.waitingOf.delete(session)
    this.opts.waitingTotal.bytes -= mine.bytes
    this.waiting = new Denque(this.waiting.toArray().filter((w) => w.session !== session))
  }

  destroy(): void {
    this.destroyed = true
    for (const mine of this.waitingOf.values()) this.opts.waitingTotal.bytes -= mine.bytes
    this.waiting.clear()
    this.waitingOf.clear()
  }
}
