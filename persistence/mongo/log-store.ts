/**
 * The shared-store protocol (snapshot + update log, compaction, consistent loads), written
 * once over a few primitive operations (`LogBackend`). MongoDB implements them with one
 * driver call each (mongo-backend.ts); unit tests implement them on Maps and inject
 * failures, latency and crashes between any two steps, so the protocol itself is tested
 * here without a MongoDB server.
 *
 * Layout: per document a head (version, sequence counter, fencing token, the snapshot
 * inline or as chunks) and a log of small records keyed by (document, seq, part).
 * - append: reserve `n` sequence numbers on the head (one atomic increment), then insert
 *   the records. Records over `maxRecordBytes` are split into parts (MongoDB's 16 MiB
 *   document limit); a load only uses complete ones.
 * - compact (append-new-then-delete-old): write the new snapshot's chunks, swap the head
 *   only if its version is still the one the input was read on (and the fencing token is
 *   not older), then delete exactly the merged records and the old chunks. A crash at any
 *   point leaves either the old snapshot with every record, or the new snapshot with some
 *   records it already contains (merged again, idempotently, later).
 * - load: read the log first, then the head. A record missing from the log read was
 *   deleted by a compaction that had already swapped the head, so the head read after it
 *   contains it. If the head's chunks vanish while being read (a newer compaction), the
 *   load starts again.
 */
import { randomUUID } from 'node:crypto'
import {
  newVersionId,
  StoreClosedError,
  type AppendEntry,
  type CompactionBasis,
  type DocInfo,
  type DocStore,
  type ListOptions,
  type StoredDoc,
  type VersionInfo,
} from '../doc-store.ts'
import { AtriumError } from '../../shared/errors.ts'

export interface LogRecord {
  readonly name: string
  readonly seq: number
  readonly part: number
  readonly parts: number
  readonly bytes: Uint8Array
}

export interface Head {
  readonly version: number
  /** Last sequence number handed out. */
  readonly seq: number
  readonly fence: number
  readonly stateVector: Uint8Array | null
  /** The snapshot when it fits in one record; else it is in `chunks` chunks of `chunkSet`. */
  readonly inline: Uint8Array | null
  readonly chunkSet: string | null
  readonly chunks: number
  readonly snapshotBytes: number
}

export type SnapshotFields = Omit<Head, 'seq' | 'fence'>

export interface LogBackend {
  readonly kind: string
  /** Reserves `count` sequence numbers (creating the head at version 0); resolves with the last. */
  reserve(name: string, count: number): Promise<number>
  insertLog(records: readonly LogRecord[]): Promise<void>
  /** Every record of the document, ascending by (seq, part). */
  readLog(name: string): Promise<LogRecord[]>
  deleteLog(name: string, seqs: readonly number[]): Promise<void>
  readHead(name: string): Promise<Head | null>
  /**
   * Sets the snapshot fields iff the head's version is `expectedVersion` and (with a fence)
   * its fencing token is not above `fence`; then records `fence`. Resolves whether it did.
   */
  swapSnapshot(name: string, expectedVersion: number, fence: number | undefined, snapshot: SnapshotFields): Promise<boolean>
  writeChunks(name: string, chunkSet: string, version: number, chunks: readonly Uint8Array[]): Promise<void>
  /** The chunks of one set, in order. */
  readChunks(name: string, chunkSet: string): Promise<Uint8Array[]>
  /** Deletes one chunk set, or (`upToVersion`) every set written for a version ≤ it except `keep`. */
  deleteChunks(name: string, which: { chunkSet: string } | { upToVersion: number; keep: string | null }): Promise<void>
  listNames(after: string | undefined, limit: number): Promise<string[]>
  logStats(name: string): Promise<{ count: number; bytes: number }>
  /** Removes head, log, chunks and versions; resolves whether anything existed. */
  deleteDoc(name: string): Promise<boolean>
  /** Stores a named version's chunks, then its record (so a listed version is always whole). */
  putVersion(name: string, info: VersionInfo, chunks: readonly Uint8Array[]): Promise<void>
  listVersions(name: string): Promise<VersionInfo[]>
  /** The version and its chunks in order (fewer than it had when some are missing). */
  getVersion(name: string, id: string): Promise<{ info: VersionInfo; chunks: Uint8Array[]; count: number } | null>
  close(): Promise<void>
}

export interface LogStoreOptions {
  /** Largest record or snapshot chunk (MongoDB documents are limited to 16 MiB). */
  readonly maxRecordBytes?: number
  /** How often a load restarts when compactions keep replacing the snapshot under it. */
  readonly loadAttempts?: number
}

export class SnapshotChangedError extends AtriumError {
  override readonly name = 'SnapshotChangedError'
  constructor(readonly docName: string) {
    super(`snapshot of ${JSON.stringify(docName)} kept changing while it was being read`)
  }
}

export class LogStore implements DocStore {
  readonly kind: string
  readonly shared = true
  private readonly maxRecordBytes: number
  private readonly loadAttempts: number
  private closed = false

  constructor(
    readonly backend: LogBackend,
    options: LogStoreOptions = {},
  ) {
    this.kind = backend.kind
    this.maxRecordBytes = options.maxRecordBytes ?? 8 * 1024 * 1024
    this.loadAttempts = options.loadAttempts ?? 5
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError(this.kind)
  }

  async append(entries: readonly AppendEntry[]): Promise<void> {
    this.check()
    const byName = new Map<string, Uint8Array[]>()
    for (const { name, update } of entries) {
      const list = byName.get(name)
      if (list) list.push(update)
      else byName.set(name, [update])
    }
    const reserved = await Promise.all([...byName].map(async ([name, updates]) => [name, updates, await this.backend.reserve(name, updates.length)] as const))
    const records: LogRecord[] = []
    for (const [name, updates, last] of reserved) {
      let seq = last - updates.length
      for (const update of updates) {
        seq++
        const parts = split(update, this.maxRecordBytes)
        for (const [part, bytes] of parts.entries()) records.push({ name, seq, part, parts: parts.length, bytes })
      }
    }
    await this.backend.insertLog(records)
  }

  async load(name: string): Promise<StoredDoc | null> {
    this.check()
    for (let attempt = 1; ; attempt++) {
      // Log first, head second (see the header): together they miss nothing.
      const log = await this.backend.readLog(name)
      const head = await this.backend.readHead(name)
      const snapshot = head ? await this.readSnapshot(name, head) : null
      if (snapshot === undefined) {
        if (attempt >= this.loadAttempts) throw new SnapshotChangedError(name)
        continue
      }
      const { updates, seqs } = assemble(log)
      if (!snapshot && updates.length === 0) return null
      const version = head?.version ?? 0
      return {
        snapshot,
        snapshotStateVector: snapshot ? head!.stateVector : null,
        updates,
        throughSeq: Math.max(head?.seq ?? 0, seqs.at(-1) ?? 0),
        basis: { version, seqs },
      }
    }
  }

  /** The head's snapshot; undefined when its chunks are gone (replaced meanwhile). */
  private async readSnapshot(name: string, head: Head): Promise<Uint8Array | null | undefined> {
    if (head.inline) return head.inline
    if (!head.chunkSet) return null
    const chunks = await this.backend.readChunks(name, head.chunkSet)
    if (chunks.length !== head.chunks) return undefined
    return join(chunks, head.snapshotBytes)
  }

  async compact(name: string, snapshot: Uint8Array, stateVector: Uint8Array, basis: CompactionBasis, fence?: number): Promise<boolean> {
    this.check()
    if (basis.seqs.length === 0) return false
    const head = await this.backend.readHead(name)
    if (!head || head.version !== basis.version || (fence !== undefined && head.fence > fence)) return false
    const version = basis.version + 1
    const chunks = snapshot.length > this.maxRecordBytes ? split(snapshot, this.maxRecordBytes) : null
    const chunkSet = chunks ? randomUUID() : null
    // 1. New data first, where no reader looks yet.
    if (chunks) await this.backend.writeChunks(name, chunkSet!, version, chunks)
    // 2. The switch: conditional, so a stale or racing compactor changes nothing.
    const swapped = await this.backend.swapSnapshot(name, basis.version, fence, {
      version,
      stateVector,
      inline: chunks ? null : snapshot,
      chunkSet,
      chunks: chunks?.length ?? 0,
      snapshotBytes: snapshot.length,
    })
    if (!swapped) {
      if (chunkSet) await this.backend.deleteChunks(name, { chunkSet })
      return false
    }
    // 3. Old data last: the merged records and older snapshots' chunks (or orphans of crashed compactions).
    await this.backend.deleteLog(name, basis.seqs)
    await this.backend.deleteChunks(name, { upToVersion: version, keep: chunkSet })
    return true
  }

  async list({ after, limit }: ListOptions): Promise<string[]> {
    this.check()
    return this.backend.listNames(after, limit)
  }

  async info(name: string): Promise<DocInfo | null> {
    this.check()
    const [head, stats] = await Promise.all([this.backend.readHead(name), this.backend.logStats(name)])
    if (!head) return null
    return { name, snapshotBytes: head.snapshotBytes, logLength: stats.count, logBytes: stats.bytes, throughSeq: head.seq }
  }

  async delete(name: string): Promise<boolean> {
    this.check()
    return this.backend.deleteDoc(name)
  }

  async saveVersion(name: string, label: string, state: Uint8Array): Promise<VersionInfo> {
    this.check()
    const createdAt = Date.now()
    const info = { id: newVersionId(createdAt), label, createdAt, bytes: state.length }
    await this.backend.putVersion(name, info, split(state, this.maxRecordBytes))
    return info
  }

  async listVersions(name: string): Promise<VersionInfo[]> {
    this.check()
    return this.backend.listVersions(name)
  }

  async loadVersion(name: string, id: string): Promise<{ info: VersionInfo; state: Uint8Array } | null> {
    this.check()
    const v = await this.backend.getVersion(name, id)
    if (!v) return null
    if (v.chunks.length !== v.count) throw new Error(`version ${id} of ${JSON.stringify(name)} is missing chunks`)
    return { info: v.info, state: join(v.chunks, v.info.bytes) }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.backend.close()
  }
}

function split(bytes: Uint8Array, max: number): Uint8Array[] {
  if (bytes.length <= max) return [bytes]
  const parts: Uint8Array[] = []
  for (let at = 0; at < bytes.length; at += max) parts.push(bytes.subarray(at, at + max))
  return parts
}

function join(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(total)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** Complete records only: a record with a part missing was being compacted away or never fully written. */
function assemble(log: readonly LogRecord[]): { updates: Uint8Array[]; seqs: number[] } {
  const updates: Uint8Array[] = []
  const seqs: number[] = []
  for (let i = 0; i < log.length; ) {
    const first = log[i]!
    let j = i
    while (j < log.length && log[j]!.seq === first.seq) j++
    const group = log.slice(i, j)
    if (group.length === first.parts && group.every((r, k) => r.part === k && r.parts === first.parts)) {
      updates.push(
        join(
          group.map((r) => r.bytes),
          group.reduce((n, r) => n + r.bytes.length, 0),
        ),
      )
      seqs.push(first.seq)
    }
    i = j
  }
  return { updates, seqs }
}
