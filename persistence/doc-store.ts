/**
 * The narrow storage interface every adapter implements (embedded LMDB by default,
 * MongoDB for clusters, in-memory for unit tests). Documents are stored as an optional
 * snapshot plus a log of Yjs updates, each with a per-document sequence number.
 *
 * Contract (persistence/contract.ts checks it for every adapter):
 * - `append` is durable when its promise resolves. Embedded adapters make it atomic; a
 *   networked one (MongoDB) may leave part of a failed append behind, and a retry may then
 *   store an entry twice: harmless, Yjs merges are idempotent, and compaction folds both.
 * - Sequence numbers grow strictly per document and are never reused, even after compaction.
 * - `compact` is append-new-then-delete-old: it writes the snapshot only over the exact
 *   snapshot version its input was loaded on (a stale or racing compactor writes nothing
 *   and gets false), and then deletes exactly the log entries that input contained.
 * - `load` of a document that was never written resolves to null.
 */
import * as Y from 'yjs'
import { AtriumError } from '../shared/errors.ts'

export interface StoredDoc {
  /** Merged state of the compacted past, or null when never compacted. */
  readonly snapshot: Uint8Array | null
  /** State vector of `snapshot` (cheap "what do you have" without decoding it). */
  readonly snapshotStateVector: Uint8Array | null
  /** Log entries after the snapshot, oldest first. */
  readonly updates: readonly Uint8Array[]
  /** Highest sequence number included in this load (snapshot or log). */
  readonly throughSeq: number
  /** What this load read, to hand back to `compact`. */
  readonly basis: CompactionBasis
}

/** The exact input of a compaction: which snapshot it builds on and which entries it merged. */
export interface CompactionBasis {
  /** Version of the snapshot that was read (0: none). */
  readonly version: number
  /** Sequence numbers of the log entries that were read. */
  readonly seqs: readonly number[]
}

/** What a tiered store's `append` resolves with. */
export interface AppendReceipt {
  /** Resolves once the appended entries are in the shared store too (never, if the store closes first). */
  readonly shared: Promise<void>
}

export interface AppendEntry {
  readonly name: string
  readonly update: Uint8Array
}

export interface DocInfo {
  readonly name: string
  readonly snapshotBytes: number
  readonly logLength: number
  readonly logBytes: number
  readonly throughSeq: number
}

/** A named version of a document: its whole state at one moment, kept until deleted with the document. */
export interface VersionInfo {
  readonly id: string
  readonly label: string
  /** Milliseconds since the epoch. */
  readonly createdAt: number
  readonly bytes: number
}

export interface ListOptions {
  /** Exclusive lower bound (the last name of the previous page). */
  readonly after?: string | undefined
  readonly limit: number
}

export interface DocStore {
  /** Adapter name for logs and metrics. */
  readonly kind: string
  /**
   * True when every node of a cluster reads and writes this same store (MongoDB): then only
   * the node a change arrived on persists it. False or absent for a node-local store.
   */
  readonly shared?: boolean
  load(name: string): Promise<StoredDoc | null>
  /**
   * Appends every entry in one durable write (group commit). A tiered store (a local log
   * shipped to a shared store) resolves with a receipt that says when they are shipped.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a store with one tier resolves with nothing (an async method that returns nothing)
  append(entries: readonly AppendEntry[]): Promise<AppendReceipt | void>
  /**
   * Stores `snapshot` (the merge of `basis`'s snapshot and entries) and deletes those
   * entries. Resolves false, having written nothing, when the stored snapshot is no longer
   * the one `basis` was read on. `fence`: the compaction lease's fencing token (shared
   * stores refuse a token lower than the last one that wrote).
   */
  compact(name: string, snapshot: Uint8Array, stateVector: Uint8Array, basis: CompactionBasis, fence?: number): Promise<boolean>
  /** Names in ascending order. */
  list(options: ListOptions): Promise<string[]>
  info(name: string): Promise<DocInfo | null>
  /** Removes the snapshot, the log and the named versions; resolves false when there was nothing. */
  delete(name: string): Promise<boolean>
  /** Stores a named version (the document's whole state as one Yjs update). */
  saveVersion(name: string, label: string, state: Uint8Array): Promise<VersionInfo>
  /** Named versions of a document, oldest first. */
  listVersions(name: string): Promise<VersionInfo[]>
  loadVersion(name: string, id: string): Promise<{ info: VersionInfo; state: Uint8Array } | null>
  close(): Promise<void>
  /**
   * Tiered stores (a local log shipped to a shared store): resolves once nothing of `name`
   * waits to be shipped. A document is unloaded only then, so a node that loads it next
   * from the shared store sees every change.
   */
  settled?(name: string): Promise<void>
  /** Tiered stores: ship what is queued, for at most until `deadline` (shutdown). */
  drain?(deadline: number): Promise<void>
}

/** A version id: sortable by creation time, unique enough to never collide in one document. */
export function newVersionId(now = Date.now()): string {
  return `${now.toString(36).padStart(9, '0')}-${Math.random().toString(36).slice(2, 8).padEnd(6, '0')}`
}

/** The stored entries in the order they apply: the snapshot (if any), then the log. */
export function storedEntries(stored: Pick<StoredDoc, 'snapshot' | 'updates'>): Uint8Array[] {
  return stored.snapshot ? [stored.snapshot, ...stored.updates] : [...stored.updates]
}

/** The stored document as a Y.Doc: snapshot and log applied in one transaction (empty for null). */
export function storedToDoc(stored: StoredDoc | null): Y.Doc {
  const doc = new Y.Doc()
  if (!stored) return doc
  doc.transact(() => {
    if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot)
    for (const u of stored.updates) Y.applyUpdate(doc, u)
  })
  return doc
}

export class StoreClosedError extends AtriumError {
  override readonly name = 'StoreClosedError'
  constructor(readonly kind: string) {
    super(`${kind} store is closed`)
  }
}
