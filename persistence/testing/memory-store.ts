/** In-memory DocStore for unit tests of our own logic. Not durable by definition. */
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
} from '../doc-store.ts'

interface MemDoc {
  snapshot: Uint8Array | null
  stateVector: Uint8Array | null
  snapshotSeq: number
  version: number
  log: { seq: number; update: Uint8Array }[]
  nextSeq: number
  /** Highest compaction-lease token that wrote a snapshot (shared stores refuse lower ones). */
  fence: number
}

export class MemoryStore implements DocStore {
  readonly kind = 'memory'
  private readonly docs = new Map<string, MemDoc>()
  private readonly versions = new Map<string, { info: VersionInfo; state: Uint8Array }[]>()
  private closed = false

  /** `shared`: stands in for a store every node of a cluster uses (in-process tests). */
  constructor(readonly shared = false) {}

  private open(): void {
    if (this.closed) throw new StoreClosedError(this.kind)
  }

  async load(name: string): Promise<StoredDoc | null> {
    this.open()
    const doc = this.docs.get(name)
    if (!doc) return null
    return {
      snapshot: doc.snapshot,
      snapshotStateVector: doc.stateVector,
      updates: doc.log.map((e) => e.update),
      throughSeq: doc.nextSeq - 1,
      basis: { version: doc.version, seqs: doc.log.map((e) => e.seq) },
    }
  }

  async append(entries: readonly AppendEntry[]): Promise<void> {
    this.open()
    for (const { name, update } of entries) {
      let doc = this.docs.get(name)
      if (!doc) this.docs.set(name, (doc = { snapshot: null, stateVector: null, snapshotSeq: 0, version: 0, log: [], nextSeq: 1, fence: 0 }))
      doc.log.push({ seq: doc.nextSeq++, update: update.slice() })
    }
  }

  async compact(name: string, snapshot: Uint8Array, stateVector: Uint8Array, basis: CompactionBasis, fence?: number): Promise<boolean> {
    this.open()
    const doc = this.docs.get(name)
    if (!doc || basis.seqs.length === 0 || doc.version !== basis.version) return false
    if (fence !== undefined) {
      if (fence < doc.fence) return false
      doc.fence = fence
    }
    const merged = new Set(basis.seqs)
    doc.snapshot = snapshot.slice()
    doc.stateVector = stateVector.slice()
    doc.snapshotSeq = basis.seqs.reduce((a, b) => (b > a ? b : a), doc.snapshotSeq)
    doc.version++
    doc.log = doc.log.filter((e) => !merged.has(e.seq))
    return true
  }

  async list({ after, limit }: ListOptions): Promise<string[]> {
    this.open()
    return [...this.docs.keys()]
      .filter((n) => after === undefined || n > after)
      .sort()
      .slice(0, limit)
  }

  async info(name: string): Promise<DocInfo | null> {
    this.open()
    const doc = this.docs.get(name)
    if (!doc) return null
    return {
      name,
      snapshotBytes: doc.snapshot?.length ?? 0,
      logLength: doc.log.length,
      logBytes: doc.log.reduce((n, e) => n + e.update.length, 0),
      throughSeq: doc.nextSeq - 1,
    }
  }

  async delete(name: string): Promise<boolean> {
    this.open()
    this.versions.delete(name)
    return this.docs.delete(name)
  }

  async saveVersion(name: string, label: string, state: Uint8Array): Promise<VersionInfo> {
    this.open()
    const createdAt = Date.now()
    const info = { id: newVersionId(createdAt), label, createdAt, bytes: state.length }
    this.versions.set(name, [...(this.versions.get(name) ?? []), { info, state: state.slice() }])
    return info
  }

  async listVersions(name: string): Promise<VersionInfo[]> {
    this.open()
    return (this.versions.get(name) ?? []).map((v) => v.info)
  }

  async loadVersion(name: string, id: string): Promise<{ info: VersionInfo; state: Uint8Array } | null> {
    this.open()
    return this.versions.get(name)?.find((v) => v.info.id === id) ?? null
  }

  async close(): Promise<void> {
    this.closed = true
  }
}
