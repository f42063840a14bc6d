/**
 * LogBackend on Maps, for unit tests of the shared-store protocol (log-store.ts) and of
 * shipping. `hook` runs before every primitive: tests make it throw (down, failing half
 * the writes, a crash between two steps) or wait (slow). `state` outlives the backend, so
 * a new backend on the same state is what a restart sees.
 */
import type { VersionInfo } from '../doc-store.ts'
import type { Head, LogBackend, LogRecord, SnapshotFields } from '../mongo/log-store.ts'

export interface MemoryLogState {
  heads: Map<string, Head>
  log: Map<string, LogRecord[]>
  chunks: Map<string, { name: string; version: number; chunks: Uint8Array[] }>
  versions: Map<string, { info: VersionInfo; chunks: Uint8Array[] }[]>
}

export type BackendOp = Exclude<keyof LogBackend, 'kind' | 'close'>

export function memoryLogState(): MemoryLogState {
  return { heads: new Map(), log: new Map(), chunks: new Map(), versions: new Map() }
}

export class MemoryLogBackend implements LogBackend {
  readonly kind = 'memory-log'
  /** Runs before each primitive (after its arguments are taken); may throw or wait. */
  hook: ((op: BackendOp, name: string) => void | Promise<void>) | null = null

  constructor(readonly state: MemoryLogState = memoryLogState()) {}

  private async before(op: BackendOp, name = ''): Promise<void> {
    await this.hook?.(op, name)
  }

  async reserve(name: string, count: number): Promise<number> {
    await this.before('reserve', name)
    const head = this.state.heads.get(name) ?? { version: 0, seq: 0, fence: 0, stateVector: null, inline: null, chunkSet: null, chunks: 0, snapshotBytes: 0 }
    this.state.heads.set(name, { ...head, seq: head.seq + count })
    return head.seq + count
  }

  async insertLog(records: readonly LogRecord[]): Promise<void> {
    await this.before('insertLog', records[0]?.name)
    // Like an ordered insertMany: records before a failure stay written. Here each insert is whole.
    for (const r of records) {
      const list = this.state.log.get(r.name) ?? []
      if (list.some((x) => x.seq === r.seq && x.part === r.part)) throw new Error(`duplicate key ${r.name}/${r.seq}/${r.part}`)
      list.push({ ...r, bytes: r.bytes.slice() })
      list.sort((a, b) => a.seq - b.seq || a.part - b.part)
      this.state.log.set(r.name, list)
    }
  }

  async readLog(name: string): Promise<LogRecord[]> {
    await this.before('readLog', name)
    return [...(this.state.log.get(name) ?? [])]
  }

  async deleteLog(name: string, seqs: readonly number[]): Promise<void> {
    await this.before('deleteLog', name)
    const drop = new Set(seqs)
    const list = (this.state.log.get(name) ?? []).filter((r) => !drop.has(r.seq))
    if (list.length > 0) this.state.log.set(name, list)
    else this.state.log.delete(name)
  }

  async readHead(name: string): Promise<Head | null> {
    await this.before('readHead', name)
    return this.state.heads.get(name) ?? null
  }

  async swapSnapshot(name: string, expectedVersion: number, fence: number | undefined, snapshot: SnapshotFields): Promise<boolean> {
    await this.before('swapSnapshot', name)
    const head = this.state.heads.get(name)
    if (!head || head.version !== expectedVersion || (fence !== undefined && head.fence > fence)) return false
    this.state.heads.set(name, { ...head, ...snapshot, fence: fence ?? head.fence })
    return true
  }

  async writeChunks(name: string, chunkSet: string, version: number, chunks: readonly Uint8Array[]): Promise<void> {
    await this.before('writeChunks', name)
    this.state.chunks.set(chunkSet, { name, version, chunks: chunks.map((c) => c.slice()) })
  }

  async readChunks(name: string, chunkSet: string): Promise<Uint8Array[]> {
    await this.before('readChunks', name)
    const set = this.state.chunks.get(chunkSet)
    return set && set.name === name ? [...set.chunks] : []
  }

  async deleteChunks(name: string, which: { chunkSet: string } | { upToVersion: number; keep: string | null }): Promise<void> {
    await this.before('deleteChunks', name)
    for (const [id, set] of this.state.chunks) {
      if (set.name !== name) continue
      if ('chunkSet' in which ? id === which.chunkSet : set.version <= which.upToVersion && id !== which.keep) this.state.chunks.delete(id)
    }
  }

  async listNames(after: string | undefined, limit: number): Promise<string[]> {
    await this.before('listNames')
    return [...this.state.heads.keys()]
      .filter((n) => after === undefined || n > after)
      .sort()
      .slice(0, limit)
  }

  async logStats(name: string): Promise<{ count: number; bytes: number }> {
    await this.before('logStats', name)
    const list = this.state.log.get(name) ?? []
    return { count: new Set(list.map((r) => r.seq)).size, bytes: list.reduce((n, r) => n + r.bytes.length, 0) }
  }

  async deleteDoc(name: string): Promise<boolean> {
    await this.before('deleteDoc', name)
    const existed = this.state.heads.delete(name) || this.state.log.has(name)
    this.state.log.delete(name)
    for (const [id, set] of this.state.chunks) if (set.name === name) this.state.chunks.delete(id)
    this.state.versions.delete(name)
    return existed
  }

  async putVersion(name: string, info: VersionInfo, chunks: readonly Uint8Array[]): Promise<void> {
    await this.before('putVersion', name)
    this.state.versions.set(name, [...(this.state.versions.get(name) ?? []), { info, chunks: chunks.map((c) => c.slice()) }])
  }

  async listVersions(name: string): Promise<VersionInfo[]> {
    await this.before('listVersions', name)
    return (this.state.versions.get(name) ?? []).map((v) => v.info)
  }

  async getVersion(name: string, id: string): Promise<{ info: VersionInfo; chunks: Uint8Array[]; count: number } | null> {
    await this.before('getVersion', name)
    const v = this.state.versions.get(name)?.find((x) => x.info.id === id)
    return v ? { info: v.info, chunks: [...v.chunks], count: v.chunks.length } : null
  }

  async close(): Promise<void> {}
}
