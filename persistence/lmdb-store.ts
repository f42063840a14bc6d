/**
 * The embedded default DocStore, on LMDB (lmdb-js): a memory-mapped B+tree with ACID
 * transactions, ships its native binary inside the npm package (no download, no service),
 * and commits are synced to disk before the write promise resolves — an appended update
 * survives SIGKILL and power loss.
 *
 * Layout in one environment under DATA_DIR:
 *   log        [name, seq] → update bytes            (ordered: one range read loads a document)
 *   snapshots  name → { snapshot, stateVector, seq }
 *   names      name → 1                               (listing without scanning the log)
 * Compaction writes the snapshot and removes the merged entries in the same transaction
 * (for a log over 5,000 entries, the rest in further ones: append-new-then-delete-old).
 *
 * In cluster mode with MongoDB the same environment holds the shipping outbox instead
 * (persistence/outbox.ts).
 */
import { mkdirSync } from 'node:fs'
import { open, type Database, type RootDatabase } from 'lmdb'
import {
  newVersionId,
  StoreClosedError,
  type VersionInfo,
  type AppendEntry,
  type CompactionBasis,
  type DocInfo,
  type DocStore,
  type ListOptions,
  type StoredDoc,
} from './doc-store.ts'

interface SnapshotRecord {
  snapshot: Uint8Array
  stateVector: Uint8Array
  /** Highest sequence number it contains. */
  seq: number
  /** Grows by one with each compaction (absent in records written before it existed: then `seq`). */
  version?: number
}

const versionOf = (record: SnapshotRecord | undefined): number => (record ? (record.version ?? record.seq) : 0)

const MAX_SEQ = Number.MAX_SAFE_INTEGER
/**
 * LMDB reads and transaction callbacks run on the event loop: long logs are read and
 * trimmed in slices of this many entries, yielding in between (a 200,000-entry log read
 * or trimmed at once stalls the loop for hundreds of milliseconds).
 */
const SLICE = 5000
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

export interface LmdbStoreOptions {
  /** Directory of the LMDB environment; created when missing. */
  readonly path: string
  /** Upper bound of the memory map (LMDB grows the file up to it). */
  readonly mapSize?: number
}

export class LmdbStore implements DocStore {
  readonly kind = 'lmdb'
  /** Node-local: in cluster mode every node keeps its own complete copy. */
  readonly shared = false
  private readonly root: RootDatabase
  private readonly log: Database<Uint8Array, [string, number]>
  private readonly snapshots: Database<SnapshotRecord, string>
  private readonly names: Database<number, string>
  private readonly versions: Database<{ label: string; createdAt: number; state: Uint8Array }, [string, string]>
  /** Next sequence number per document, assigned synchronously so concurrent appends never collide. */
  private readonly nextSeq = new Map<string, number>()
  private closed = false

  constructor(options: LmdbStoreOptions) {
    mkdirSync(options.path, { recursive: true })
    // noSubdir: false — lmdb-js otherwise guesses from the name, and treats a directory
    // whose name has a dot (/var/lib/atrium.data, mktemp -d's tmp.XXXX) as a file path.
    this.root = open({ path: options.path, noSubdir: false, mapSize: options.mapSize ?? 64 * 1024 ** 3, compression: false })
    this.log = this.root.openDB({ name: 'log', encoding: 'binary' })
    this.snapshots = this.root.openDB({ name: 'snapshots', encoding: 'msgpack' })
    this.names = this.root.openDB({ name: 'names', encoding: 'msgpack' })
    this.versions = this.root.openDB({ name: 'versions', encoding: 'msgpack' })
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError(this.kind)
  }

  private logRange(name: string, throughSeq = MAX_SEQ) {
    return { start: [name, 0] as [string, number], end: [name, throughSeq + 1] as [string, number] }
  }

  private lastSeq(name: string): number {
    const snapshotSeq = this.snapshots.get(name)?.seq ?? 0
    // Reverse ranges run from the high key down: start above end.
    for (const key of this.log.getKeys({ start: [name, MAX_SEQ], end: [name, 0], reverse: true, limit: 1 })) {
      return Math.max(key[1], snapshotSeq)
    }
    return snapshotSeq
  }

  private takeSeq(name: string): number {
    const seq = this.nextSeq.get(name) ?? this.lastSeq(name) + 1
    this.nextSeq.set(name, seq + 1)
    return seq
  }

  async load(name: string): Promise<StoredDoc | null> {
    this.check()
    const updates: Uint8Array[] = []
    const seqs: number[] = []
    // The log in slices, then the snapshot: an entry a compaction removed between two slices
    // was in the snapshot it wrote first, which the read after the log sees.
    for (let from = 0; ; ) {
      let n = 0
      for (const { key, value } of this.log.getRange({ start: [name, from], end: [name, MAX_SEQ], limit: SLICE })) {
        updates.push(value)
        seqs.push(key[1])
        from = key[1] + 1
        n++
      }
      if (n < SLICE) break
      await yieldToLoop()
      this.check()
    }
    const snap = this.snapshots.get(name)
    if (!snap && updates.length === 0) return null
    const version = versionOf(snap)
    return {
      snapshot: snap?.snapshot ?? null,
      snapshotStateVector: snap?.stateVector ?? null,
      updates,
      throughSeq: Math.max(snap?.seq ?? 0, seqs.at(-1) ?? 0),
      basis: { version, seqs },
    }
  }

  async append(entries: readonly AppendEntry[]): Promise<void> {
    this.check()
    if (entries.length === 0) return
    const rows = entries.map(({ name, update }) => ({ name, key: [name, this.takeSeq(name)] as [string, number], update }))
    await this.root.transaction(() => {
      for (const { name, key, update } of rows) {
        this.log.put(key, update)
        if (key[1] === 1 || !this.names.doesExist(name)) this.names.put(name, 1)
      }
    })
  }

  async compact(name: string, snapshot: Uint8Array, stateVector: Uint8Array, basis: CompactionBasis): Promise<boolean> {
    this.check()
    if (basis.seqs.length === 0) return false
    const written = await this.root.transaction(() => {
      // Only over the snapshot the input was read on: anything else means another compaction won.
      const current = this.snapshots.get(name)
      if (versionOf(current) !== basis.version) return false
      const seq = basis.seqs.reduce((a, b) => (b > a ? b : a), current?.seq ?? 0)
      this.snapshots.put(name, { snapshot, stateVector, seq, version: basis.version + 1 })
      this.names.put(name, 1)
      for (const s of basis.seqs.slice(0, SLICE)) this.log.remove([name, s])
      return true
    })
    // A long log's remaining merged entries go in further slices: until then a load merges
    // them twice, which Yjs does idempotently; a crash leaves them for the next compaction.
    for (let i = SLICE; written && i < basis.seqs.length; i += SLICE) {
      await yieldToLoop()
      await this.root.transaction(() => {
        for (const s of basis.seqs.slice(i, i + SLICE)) this.log.remove([name, s])
      })
    }
    return written
  }

  async list({ after, limit }: ListOptions): Promise<string[]> {
    this.check()
    const out: string[] = []
    for (const name of this.names.getKeys(after === undefined ? {} : { start: after })) {
      if (name === after) continue
      out.push(name)
      if (out.length >= limit) break
    }
    return out
  }

  async info(name: string): Promise<DocInfo | null> {
    this.check()
    const snap = this.snapshots.get(name)
    let logLength = 0
    let logBytes = 0
    let throughSeq = snap?.seq ?? 0
    for (const { key, value } of this.log.getRange(this.logRange(name))) {
      logLength++
      logBytes += value.length
      throughSeq = key[1]
    }
    if (!snap && logLength === 0) return null
    return { name, snapshotBytes: snap?.snapshot.length ?? 0, logLength, logBytes, throughSeq }
  }

  async delete(name: string): Promise<boolean> {
    this.check()
    let existed = false
    await this.root.transaction(() => {
      existed = this.names.doesExist(name)
      this.snapshots.remove(name)
      this.names.remove(name)
      for (const key of [...this.log.getKeys(this.logRange(name))]) this.log.remove(key)
      for (const key of [...this.versions.getKeys(this.versionRange(name))]) this.versions.remove(key)
    })
    return existed
  }

  private versionRange(name: string) {
    return { start: [name, ''] as [string, string], end: [name, '\uffff'] as [string, string] }
  }

  async saveVersion(name: string, label: string, state: Uint8Array): Promise<VersionInfo> {
    this.check()
    const createdAt = Date.now()
    const id = newVersionId(createdAt)
    await this.versions.put([name, id], { label, createdAt, state })
    return { id, label, createdAt, bytes: state.length }
  }

  async listVersions(name: string): Promise<VersionInfo[]> {
    this.check()
    return this.versions
      .getRange(this.versionRange(name))
      .map(({ key, value }) => ({ id: key[1], label: value.label, createdAt: value.createdAt, bytes: value.state.length })).asArray
  }

  async loadVersion(name: string, id: string): Promise<{ info: VersionInfo; state: Uint8Array } | null> {
    this.check()
    const v = this.versions.get([name, id])
    return v ? { info: { id, label: v.label, createdAt: v.createdAt, bytes: v.state.length }, state: v.state } : null
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.root.close()
  }
}
