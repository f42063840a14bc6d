/**
 * Test harness: the shared-store primitives on an LMDB directory, one transaction per
 * primitive (as MongoDB has one operation per primitive). It stands in for MongoDB in
 * tests that SIGKILL a server process in the middle of shipping or compaction and then
 * check what a restart finds: durable across processes, and not atomic across steps.
 */
import { mkdirSync } from 'node:fs'
import { open, type Database, type RootDatabase } from 'lmdb'
import type { VersionInfo } from '../doc-store.ts'
import type { Head, LogBackend, LogRecord, SnapshotFields } from '../mongo/log-store.ts'
import type { BackendOp } from './mongo-memory-backend.ts'

export class LmdbLogBackend implements LogBackend {
  readonly kind = 'lmdb-log'
  /** Runs before each primitive; may wait (slow shipping) or throw. */
  hook: ((op: BackendOp, name: string) => void | Promise<void>) | null = null
  private readonly root: RootDatabase
  private readonly heads: Database<Head, string>
  private readonly log: Database<{ parts: number; bytes: Uint8Array }, [string, number, number]>
  private readonly chunkSets: Database<{ version: number; chunks: Uint8Array[] }, [string, string]>
  private readonly versions: Database<{ info: VersionInfo; chunks: Uint8Array[] }, [string, string]>

  constructor(path: string) {
    mkdirSync(path, { recursive: true })
    this.root = open({ path, noSubdir: false, mapSize: 4 * 1024 ** 3, compression: false })
    this.heads = this.root.openDB({ name: 'heads', encoding: 'msgpack' })
    this.log = this.root.openDB({ name: 'log', encoding: 'msgpack' })
    this.chunkSets = this.root.openDB({ name: 'chunks', encoding: 'msgpack' })
    this.versions = this.root.openDB({ name: 'versions', encoding: 'msgpack' })
  }

  private before(op: BackendOp, name = ''): void | Promise<void> {
    return this.hook?.(op, name)
  }

  async reserve(name: string, count: number): Promise<number> {
    await this.before('reserve', name)
    return this.root.transaction(() => {
      const head = this.heads.get(name) ?? { version: 0, seq: 0, fence: 0, stateVector: null, inline: null, chunkSet: null, chunks: 0, snapshotBytes: 0 }
      this.heads.put(name, { ...head, seq: head.seq + count })
      return head.seq + count
    })
  }

  async insertLog(records: readonly LogRecord[]): Promise<void> {
    await this.before('insertLog', records[0]?.name)
    await this.root.transaction(() => {
      for (const r of records) this.log.put([r.name, r.seq, r.part], { parts: r.parts, bytes: r.bytes })
    })
  }

  async readLog(name: string): Promise<LogRecord[]> {
    await this.before('readLog', name)
    return this.log
      .getRange({ start: [name, 0, 0], end: [name, Number.MAX_SAFE_INTEGER, 0] })
      .map(({ key, value }) => ({ name, seq: key[1], part: key[2], parts: value.parts, bytes: value.bytes })).asArray
  }

  async deleteLog(name: string, seqs: readonly number[]): Promise<void> {
    await this.before('deleteLog', name)
    const drop = new Set(seqs)
    await this.root.transaction(() => {
      for (const key of [...this.log.getKeys({ start: [name, 0, 0], end: [name, Number.MAX_SAFE_INTEGER, 0] })]) if (drop.has(key[1])) this.log.remove(key)
    })
  }

  async readHead(name: string): Promise<Head | null> {
    await this.before('readHead', name)
    return this.heads.get(name) ?? null
  }

  async swapSnapshot(name: string, expectedVersion: number, fence: number | undefined, snapshot: SnapshotFields): Promise<boolean> {
    await this.before('swapSnapshot', name)
    return this.root.transaction(() => {
      const head = this.heads.get(name)
      if (!head || head.version !== expectedVersion || (fence !== undefined && head.fence > fence)) return false
      this.heads.put(name, { ...head, ...snapshot, fence: fence ?? head.fence })
      return true
    })
  }

  async writeChunks(name: string, chunkSet: string, version: number, chunks: readonly Uint8Array[]): Promise<void> {
    await this.before('writeChunks', name)
    await this.chunkSets.put([name, chunkSet], { version, chunks: [...chunks] })
  }

  async readChunks(name: string, chunkSet: string): Promise<Uint8Array[]> {
    await this.before('readChunks', name)
    return this.chunkSets.get([name, chunkSet])?.chunks ?? []
  }

  async deleteChunks(name: string, which: { chunkSet: string } | { upToVersion: number; keep: string | null }): Promise<void> {
    await this.before('deleteChunks', name)
    await this.root.transaction(() => {
      for (const { key, value } of [...this.chunkSets.getRange({ start: [name, ''], end: [name, '\uffff'] })]) {
        if ('chunkSet' in which ? key[1] === which.chunkSet : value.version <= which.upToVersion && key[1] !== which.keep) this.chunkSets.remove(key)
      }
    })
  }

  async listNames(after: string | undefined, limit: number): Promise<string[]> {
    await this.before('listNames')
    const out: string[] = []
    for (const name of this.heads.getKeys(after === undefined ? {} : { start: after })) {
      if (name === after) continue
      out.push(name)
      if (out.length >= limit) break
    }
    return out
  }

  async logStats(name: string): Promise<{ count: number; bytes: number }> {
    const log = await this.readLog(name)
    return { count: new Set(log.map((r) => r.seq)).size, bytes: log.reduce((n, r) => n + r.bytes.length, 0) }
  }

  async deleteDoc(name: string): Promise<boolean> {
    await this.before('deleteDoc', name)
    return this.root.transaction(() => {
      const existed = this.heads.doesExist(name)
      this.heads.remove(name)
      for (const key of [...this.log.getKeys({ start: [name, 0, 0], end: [name, Number.MAX_SAFE_INTEGER, 0] })]) this.log.remove(key)
      for (const key of [...this.chunkSets.getKeys({ start: [name, ''], end: [name, '\uffff'] })]) this.chunkSets.remove(key)
      for (const key of [...this.versions.getKeys({ start: [name, ''], end: [name, '\uffff'] })]) this.versions.remove(key)
      return existed
    })
  }

  async putVersion(name: string, info: VersionInfo, chunks: readonly Uint8Array[]): Promise<void> {
    await this.before('putVersion', name)
    await this.versions.put([name, info.id], { info, chunks: [...chunks] })
  }

  async listVersions(name: string): Promise<VersionInfo[]> {
    await this.before('listVersions', name)
    return this.versions.getRange({ start: [name, ''], end: [name, '\uffff'] }).map(({ value }) => value.info).asArray
  }

  async getVersion(name: string, id: string): Promise<{ info: VersionInfo; chunks: Uint8Array[]; count: number } | null> {
    await this.before('getVersion', name)
    const v = this.versions.get([name, id])
    return v ? { info: v.info, chunks: v.chunks, count: v.chunks.length } : null
  }

  async close(): Promise<void> {
    await this.root.close()
  }
}
