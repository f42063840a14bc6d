/**
 * What the compute worker is fed: each document as encoded parts (what was loaded, then every
 * update since), so the worker rebuilds a consistent copy, and later catches up with only the
 * parts it lacks, without an encode of the document on the event loop.
 *
 * Rules: a feed is compute's, not the document's: it listens to the Y.Doc's updates and lives
 * as long as the SharedDoc (held weakly, so a document unloaded or dropped by a failed load
 * takes its feed with it). A document nobody computes on pays nothing: its feed starts at the
 * first computation, with one encoding of its state (what a joiner's first sync costs too),
 * unless `start` was called before its load (site documents, whose compute reads are common),
 * which makes the loaded slices the first parts. Past every PARTS_REBASE_AT parts, the parts
 * are merged into one in the worker pool.
 */
import * as Y from 'yjs'
import type { SharedDoc } from '../documents/shared-doc.ts'

/** Parts kept before they are merged into one (in a worker). */
export const PARTS_REBASE_AT = 500

export interface Parts {
  readonly parts: Uint8Array[]
  /** The last part's number: a copy built from these holds every update up to it. */
  readonly throughSeq: number
}

class PartsFeed {
  private parts: Uint8Array[] = []
  /** Sequence number of each part: a part covers every update up to its number. */
  private seqs: number[] = []
  private seq = 0

  constructor(private readonly grown: (feed: PartsFeed) => void) {}

  add(update: Uint8Array): void {
    if (this.parts.length > 0 && this.parts.length % PARTS_REBASE_AT === 0) this.grown(this)
    this.parts.push(update)
    this.seqs.push(++this.seq)
  }

  /** The parts after `afterSeq` (all of them for -1); apply them in order. */
  since(afterSeq: number): Parts {
    // A merged first part covers everything up to its number: sent whole when that is past
    // `afterSeq` (applying what a copy already has is a no-op for Yjs).
    const first = this.seqs.findIndex((s) => s > afterSeq)
    return { parts: first < 0 ? [] : this.parts.slice(first), throughSeq: this.seq }
  }

  /** Replaces the parts up to `throughSeq` by their merge. */
  rebase(throughSeq: number, merged: Uint8Array): void {
    const count = this.seqs.findIndex((s) => s > throughSeq)
    const n = count < 0 ? this.parts.length : count
    if (n < 2) return
    this.parts.splice(0, n, merged)
    this.seqs.splice(0, n, throughSeq)
  }
}

export class PartsFeeds {
  private readonly feeds = new WeakMap<SharedDoc, PartsFeed>()

  constructor(
    /** Merges parts off the event loop (the worker pool). */
    private readonly merge: (parts: readonly Uint8Array[]) => Promise<Uint8Array>,
    /** A merge failed: the parts stay as they are, and are merged when they grow again. */
    private readonly mergeFailed: (doc: SharedDoc, err: unknown) => void,
  ) {}

  /** Feeds this document from now on: called before its load, so the loaded slices are parts. */
  start(doc: SharedDoc): void {
    if (!this.feeds.has(doc)) this.open(doc)
  }

  /** A consistent copy of the document as parts, or only those after `afterSeq` (a copy that has everything up to it). */
  since(doc: SharedDoc, afterSeq: number): Parts {
    let feed = this.feeds.get(doc)
    if (!feed) {
      feed = this.open(doc)
      feed.add(Y.encodeStateAsUpdate(doc.doc))
    }
    return feed.since(afterSeq)
  }

  private open(doc: SharedDoc): PartsFeed {
    const feed = new PartsFeed((grown) => {
      const { parts, throughSeq } = grown.since(-1)
      this.merge(parts).then(
        (merged) => grown.rebase(throughSeq, merged),
        (err: unknown) => this.mergeFailed(doc, err),
      )
    })
    // Every change, from storage (the load), clients and other nodes alike, in the order applied.
    doc.doc.on('update', (update: Uint8Array) => feed.add(update))
    this.feeds.set(doc, feed)
    return feed
  }
}
