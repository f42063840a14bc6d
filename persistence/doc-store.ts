/**
 * The narrow storage interface every adapter implements (embedded LMDB by default,
 * in-memory for unit tests, MongoDB later). Documents are stored as an optional snapshot
 * plus an append-only log of Yjs updates, each with a per-document sequence number.
 *
 * Contract (persistence/contract.ts checks it for every adapter):
 * - `append` is atomic across all its entries and durable when its promise resolves.
 * - Sequence numbers grow strictly per document and are never reused, even after compaction.
 * - `compact` writes the snapshot first and only then drops log entries `<= throughSeq`;
 *   a snapshot older than the stored one (lower throughSeq) is ignored, so a stale
 *   compactor can never roll a document back.
 * - `load` of a document that was never written resolves to null.
 */
export interface StoredDoc {
  /** Merged state of every update up to `snapshotSeq`, or null when never compacted. */
  readonly snapshot: Uint8Array | null
  /** State vector of `snapshot` (cheap "what do you have" without decoding it). */
  readonly snapshotStateVector: Uint8Array | null
  readonly snapshotSeq: number
  /** Log entries after the snapshot, oldest first. */
  readonly updates: readonly Uint8Array[]
  /** Highest sequence number included in this load (snapshot or log). */
  readonly throughSeq: number
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
  /** Appends every entry in one atomic, durable write (group commit). */
  append(entries: readonly AppendEntry[]): Promise<void>
  compact(name: string, snapshot: Uint8Array, stateVector: Uint8Array, throughSeq: number): Promise<void>
  /** Names in ascending order. */
  list(options: ListOptions): Promise<string[]>
  info(name: string): Promise<DocInfo | null>
  /** Removes the snapshot and the log; resolves false when there was nothing. */
  delete(name: string): Promise<boolean>
  close(): Promise<void>
}

export class StoreClosedError extends Error {
  constructor(kind: string) {
    super(`${kind} store is closed`)
    this.name = 'StoreClosedError'
  }
}
