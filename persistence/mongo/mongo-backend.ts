/**
 * The shared-store primitives on MongoDB (official driver): one driver call each, all the
 * protocol is in log-store.ts. Binary data is stored as BSON Binary (the driver writes
 * Uint8Array as Binary; `promoteBuffers` reads it back as bytes), never as base64.
 *
 * Collections in MONGODB_DB:
 *   documents        { _id: name, v, seq, fence, sv, snap | (cs, cn), sb, at }   one head per document
 *   updates          { d, s, p, n, u, at }     unique (d, s, p): loads are one index range
 *   snapshot_chunks  { d, k, v, i, b }         unique (d, k, i): snapshots over 8 MiB
 *   versions         { d, id, label, at, bytes, n }        unique (d, id): named versions
 *   version_chunks   { d, id, i, b }           unique (d, id, i): their state in 8 MiB chunks
 * Indexes are created at start-up (retried until MongoDB answers; operations work without them).
 */
import {
  MongoClient,
  MongoNetworkError,
  MongoServerError,
  MongoNotConnectedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type Collection,
  type Db,
  type W,
} from 'mongodb'
import type { VersionInfo } from '../doc-store.ts'
import { LogStore, type Head, type LogBackend, type LogRecord, type SnapshotFields } from './log-store.ts'

export interface MongoStoreOptions {
  readonly url: string
  readonly db: string
  /** Write concern of every write (default majority, journaled). */
  readonly w?: W
  readonly journal?: boolean
  /** Server selection, connect and operation timeouts (ms). */
  readonly timeoutMs?: number
  /** Told when MongoDB becomes reachable or unreachable, and of each failed operation. */
  readonly observer?: MongoObserver
}

export interface MongoObserver {
  up?(up: boolean): void
  error?(op: string, err: unknown): void
  indexesReady?(): void
}

interface HeadDoc {
  _id: string
  v: number
  seq: number
  fence: number
  sv?: Uint8Array | null
  snap?: Uint8Array | null
  cs?: string | null
  cn?: number
  sb?: number
  at?: Date
}

interface UpdateDoc {
  d: string
  s: number
  p: number
  n: number
  u: Uint8Array
  at: Date
}

interface VersionDoc {
  d: string
  id: string
  label: string
  at: number
  bytes: number
  n: number
}

interface VersionChunkDoc {
  d: string
  id: string
  i: number
  b: Uint8Array
}

interface ChunkDoc {
  d: string
  k: string
  v: number
  i: number
  b: Uint8Array
}

const DUPLICATE_KEY = 11000
/** Deletes by sequence number go in slices of this many (one command stays small). */
const DELETE_SLICE = 10_000

export class MongoBackend implements LogBackend {
  readonly kind = 'mongodb'
  readonly client: MongoClient
  private readonly db: Db
  private readonly heads: Collection<HeadDoc>
  private readonly updates: Collection<UpdateDoc>
  private readonly chunkDocs: Collection<ChunkDoc>
  private readonly versionDocs: Collection<VersionDoc>
  private readonly versionChunks: Collection<VersionChunkDoc>
  private reachable: boolean | null = null
  private pinger: NodeJS.Timeout | null = null
  private closed = false
  private connected = false
  private connecting: Promise<void> | null = null

  constructor(private readonly opts: MongoStoreOptions) {
    // Unacknowledged writes report no match count: the compare-and-swap of compaction would misread them.
    if (opts.w === 0) throw new Error('MongoDB write concern w:0 is not supported: Atrium needs acknowledged writes')
    const timeout = opts.timeoutMs ?? 5000
    this.client = new MongoClient(opts.url, {
      appName: 'atrium',
      serverSelectionTimeoutMS: timeout,
      connectTimeoutMS: timeout,
      socketTimeoutMS: Math.max(30_000, timeout * 6),
      promoteBuffers: true,
      // Every read from the primary: a load reads the log and then the head, and that order
      // only guarantees a complete document when both reads see the same history.
      readPreference: 'primary',
    })
    this.db = this.client.db(opts.db, { writeConcern: { w: opts.w ?? 'majority', journal: opts.journal ?? true } })
    this.heads = this.db.collection<HeadDoc>('documents')
    this.updates = this.db.collection<UpdateDoc>('updates')
    this.chunkDocs = this.db.collection<ChunkDoc>('snapshot_chunks')
    this.versionDocs = this.db.collection<VersionDoc>('versions')
    this.versionChunks = this.db.collection<VersionChunkDoc>('version_chunks')
  }

  /** True after the last operation or ping succeeded; false after one failed; null before either. */
  get up(): boolean | null {
    return this.reachable
  }

  /** Creates the indexes (retrying until MongoDB answers) and pings every `pingMs` to keep `up` current. */
  start(pingMs = 5000): void {
    const ensure = async (): Promise<void> => {
      while (!this.closed) {
        try {
          await this.op('createIndexes', () =>
            Promise.all([
              this.updates.createIndex({ d: 1, s: 1, p: 1 }, { unique: true, name: 'doc_seq_part' }),
              this.chunkDocs.createIndex({ d: 1, k: 1, i: 1 }, { unique: true, name: 'doc_set_index' }),
              this.chunkDocs.createIndex({ d: 1, v: 1 }, { name: 'doc_version' }),
              this.versionDocs.createIndex({ d: 1, id: 1 }, { unique: true, name: 'doc_id' }),
              this.versionChunks.createIndex({ d: 1, id: 1, i: 1 }, { unique: true, name: 'doc_id_index' }),
            ]),
          )
          safely(() => this.opts.observer?.indexesReady?.())
          return
        } catch {
          await new Promise((r) => setTimeout(r, pingMs).unref())
        }
      }
    }
    void ensure().catch(() => {})
    this.pinger = setInterval(() => void this.op('ping', () => this.db.command({ ping: 1 })).catch(() => {}), pingMs)
    this.pinger.unref()
  }

  /**
   * Connects explicitly until a connection succeeded once: the driver's implicit connect
   * keeps a topology whose first connection failed, closed, and every later operation then
   * fails with "Topology is closed". After one success the driver reconnects by itself.
   */
  private async connect(): Promise<void> {
    if (this.closed) throw new MongoNotConnectedError('MongoDB store is closed')
    if (this.connected) return
    this.connecting ??= this.client
      .connect()
      .then(() => void (this.connected = true))
      .finally(() => (this.connecting = null))
    await this.connecting
  }

  /** Runs one operation, keeping `up` and the error count current. */
  private async op<T>(name: string, run: () => Promise<T>): Promise<T> {
    try {
      await this.connect()
      const result = await run()
      this.setUp(true)
      return result
    } catch (err) {
      // Only failures to reach the server count as down; a server error (duplicate key) means it answered.
      if (err instanceof MongoNetworkError || err instanceof MongoServerSelectionError || err instanceof MongoTopologyClosedError) this.setUp(false)
      safely(() => this.opts.observer?.error?.(name, err))
      throw err
    }
  }

  private setUp(up: boolean): void {
    if (this.reachable === up) return
    this.reachable = up
    safely(() => this.opts.observer?.up?.(up))
  }

  reserve(name: string, count: number): Promise<number> {
    const once = () =>
      this.heads.findOneAndUpdate(
        { _id: name },
        { $inc: { seq: count }, $setOnInsert: { v: 0, fence: 0 } },
        { upsert: true, returnDocument: 'after', projection: { seq: 1 } },
      )
    return this.op('reserve', async () => {
      // Two first appends racing on a new document: one upsert loses with a duplicate key; the retry updates.
      const head = await once().catch((err: unknown) => {
        if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) return once()
        throw err
      })
      if (!head) throw new Error(`reserving sequence numbers for ${name} returned nothing`)
      return head.seq
    })
  }

  async insertLog(records: readonly LogRecord[]): Promise<void> {
    if (records.length === 0) return
    const at = new Date()
    await this.op('insertLog', () =>
      this.updates.insertMany(
        records.map((r) => ({ d: r.name, s: r.seq, p: r.part, n: r.parts, u: r.bytes, at })),
        { ordered: true },
      ),
    )
  }

  readLog(name: string): Promise<LogRecord[]> {
    return this.op('readLog', async () => {
      const docs = await this.updates
        .find({ d: name }, { projection: { _id: 0, s: 1, p: 1, n: 1, u: 1 } })
        .sort({ s: 1, p: 1 })
        .toArray()
      // Copied: a promoted Buffer is a view of the whole reply, which a kept record would pin in memory.
      return docs.map((x) => ({ name, seq: x.s, part: x.p, parts: x.n, bytes: new Uint8Array(x.u) }))
    })
  }

  async deleteLog(name: string, seqs: readonly number[]): Promise<void> {
    for (let i = 0; i < seqs.length; i += DELETE_SLICE) {
      const slice = seqs.slice(i, i + DELETE_SLICE)
      await this.op('deleteLog', () => this.updates.deleteMany({ d: name, s: { $in: slice } }))
    }
  }

  readHead(name: string): Promise<Head | null> {
    return this.op('readHead', async () => {
      const h = await this.heads.findOne({ _id: name })
      if (!h) return null
      return {
        version: h.v ?? 0,
        seq: h.seq ?? 0,
        fence: h.fence ?? 0,
        stateVector: h.sv ?? null,
        inline: h.snap ?? null,
        chunkSet: h.cs ?? null,
        chunks: h.cn ?? 0,
        snapshotBytes: h.sb ?? 0,
      }
    })
  }

  swapSnapshot(name: string, expectedVersion: number, fence: number | undefined, s: SnapshotFields): Promise<boolean> {
    return this.op('swapSnapshot', async () => {
      const filter = fence === undefined ? { _id: name, v: expectedVersion } : { _id: name, v: expectedVersion, fence: { $lte: fence } }
      const set = {
        v: s.version,
        sv: s.stateVector,
        snap: s.inline,
        cs: s.chunkSet,
        cn: s.chunks,
        sb: s.snapshotBytes,
        at: new Date(),
        ...(fence === undefined ? {} : { fence }),
      }
      const result = await this.heads.updateOne(filter, { $set: set })
      return result.matchedCount === 1
    })
  }

  async writeChunks(name: string, chunkSet: string, version: number, chunks: readonly Uint8Array[]): Promise<void> {
    await this.op('writeChunks', () =>
      this.chunkDocs.insertMany(
        chunks.map((b, i) => ({ d: name, k: chunkSet, v: version, i, b })),
        { ordered: true },
      ),
    )
  }

  readChunks(name: string, chunkSet: string): Promise<Uint8Array[]> {
    return this.op('readChunks', async () => (await this.chunkDocs.find({ d: name, k: chunkSet }).sort({ i: 1 }).toArray()).map((c) => c.b))
  }

  async deleteChunks(name: string, which: { chunkSet: string } | { upToVersion: number; keep: string | null }): Promise<void> {
    const filter =
      'chunkSet' in which
        ? { d: name, k: which.chunkSet }
        : which.keep
          ? { d: name, v: { $lte: which.upToVersion }, k: { $ne: which.keep } }
          : { d: name, v: { $lte: which.upToVersion } }
    await this.op('deleteChunks', () => this.chunkDocs.deleteMany(filter))
  }

  listNames(after: string | undefined, limit: number): Promise<string[]> {
    return this.op('listNames', async () => {
      const docs = await this.heads
        .find(after === undefined ? {} : { _id: { $gt: after } }, { projection: { _id: 1 } })
        .sort({ _id: 1 })
        .limit(limit)
        .toArray()
      return docs.map((d) => d._id)
    })
  }

  logStats(name: string): Promise<{ count: number; bytes: number }> {
    return this.op('logStats', async () => {
      const [row] = await this.updates
        .aggregate<{ count: number; bytes: number }>([
          { $match: { d: name } },
          { $group: { _id: '$s', bytes: { $sum: { $binarySize: '$u' } } } }, // one entry however many parts
          { $group: { _id: null, count: { $sum: 1 }, bytes: { $sum: '$bytes' } } },
        ])
        .toArray()
      return { count: row?.count ?? 0, bytes: row?.bytes ?? 0 }
    })
  }

  deleteDoc(name: string): Promise<boolean> {
    return this.op('deleteDoc', async () => {
      const log = await this.updates.deleteMany({ d: name })
      await this.chunkDocs.deleteMany({ d: name })
      await this.versionChunks.deleteMany({ d: name })
      await this.versionDocs.deleteMany({ d: name })
      const head = await this.heads.deleteOne({ _id: name })
      return head.deletedCount > 0 || log.deletedCount > 0
    })
  }

  async putVersion(name: string, info: VersionInfo, chunks: readonly Uint8Array[]): Promise<void> {
    await this.op('putVersion', async () => {
      if (chunks.length > 0)
        await this.versionChunks.insertMany(
          chunks.map((b, i) => ({ d: name, id: info.id, i, b })),
          { ordered: true },
        )
      await this.versionDocs.insertOne({ d: name, id: info.id, label: info.label, at: info.createdAt, bytes: info.bytes, n: chunks.length })
    })
  }

  listVersions(name: string): Promise<VersionInfo[]> {
    return this.op('listVersions', async () => {
      const docs = await this.versionDocs
        .find({ d: name }, { projection: { _id: 0 } })
        .sort({ id: 1 })
        .toArray()
      return docs.map((v) => ({ id: v.id, label: v.label, createdAt: v.at, bytes: v.bytes }))
    })
  }

  getVersion(name: string, id: string): Promise<{ info: VersionInfo; chunks: Uint8Array[]; count: number } | null> {
    return this.op('getVersion', async () => {
      const v = await this.versionDocs.findOne({ d: name, id })
      if (!v) return null
      const chunks = await this.versionChunks.find({ d: name, id }).sort({ i: 1 }).toArray()
      return { info: { id: v.id, label: v.label, createdAt: v.at, bytes: v.bytes }, chunks: chunks.map((c) => new Uint8Array(c.b)), count: v.n }
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.pinger) clearInterval(this.pinger)
    await this.client.close()
  }
}

/** Observers are ours, but a throwing one must never turn into a lost error or an unhandled rejection. */
function safely(run: () => void): void {
  try {
    run()
  } catch {
    // ignored on purpose
  }
}

/** The MongoDB DocStore: the shared-store protocol over the MongoDB primitives. */
export function createMongoStore(opts: MongoStoreOptions): { store: LogStore; backend: MongoBackend } {
  const backend = new MongoBackend(opts)
  return { store: new LogStore(backend), backend }
}
