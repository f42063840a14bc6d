/**
 * The shipping outbox: in MongoDB mode the embedded store stays the node's write-ahead log.
 * Accepted updates are appended here (durable locally within the group-commit window, as
 * in embedded mode) and shipped to MongoDB in batches; an entry is trimmed only after
 * MongoDB confirmed it.
 *
 * Entries have one queue-wide key that grows strictly and is never reused (the last key
 * is persisted with every write), so shipping is in order and nothing is confused after a
 * restart. An
 * in-memory index (name, size and time of each entry, never the bytes) answers "what of
 * this document is unshipped" and the lag figures without reading the disk.
 */
import { mkdirSync } from 'node:fs'
import { open, type Database, type RootDatabase } from 'lmdb'
import { StoreClosedError, type AppendEntry } from './doc-store.ts'

export interface OutboxEntry {
  readonly key: number
  readonly name: string
  readonly update: Uint8Array
}

interface IndexEntry {
  readonly name: string
  readonly bytes: number
  /** Lowest append receipt (key) whose content this entry holds: its own key, or less after a merge. */
  readonly floor: number
  /** When it was appended (ms since the epoch), for the lag in seconds. */
  readonly at: number
}

export interface Stored {
  readonly d: string
  readonly u: Uint8Array
  readonly t: number
  /** Floor (see IndexEntry), when lower than the key. */
  readonly f?: number
}

/** Where the outbox keeps its entries: LMDB on disk, or a Map for unit tests. */
export interface OutboxBackend {
  /** Every stored entry, ascending by key (read once at open). */
  scan(): Iterable<{ key: number; value: Stored }>
  get(key: number): Stored | undefined
  lastKey(): number
  /** One durable, atomic write. */
  write(puts: readonly { key: number; value: Stored }[], removes: readonly number[], lastKey: number): Promise<void>
  close(): Promise<void>
}

export class Outbox {
  /** Every entry, in key order (writes are serialized, so they land in the order keys were taken). */
  private readonly index = new Map<number, IndexEntry>()
  /** The few entries made by `replace`: their floor and time can be older than their key says. */
  private readonly merges = new Map<number, IndexEntry>()
  /** Writes one after another: keys, disk and index stay in the same order. */
  private writes: Promise<unknown> = Promise.resolve()
  private readonly byName = new Map<string, Set<number>>()
  private nextKey: number
  private totalBytes = 0
  private closed = false

  constructor(private readonly backend: OutboxBackend) {
    for (const { key, value } of backend.scan()) this.indexAdd(key, { name: value.d, bytes: value.u.length, at: value.t, floor: value.f ?? key })
    this.nextKey = backend.lastKey() + 1
  }

  get entries(): number {
    return this.index.size
  }

  get bytes(): number {
    return this.totalBytes
  }

  /** Age in ms of the oldest entry (0 when empty). O(merged entries), not O(queue). */
  lagMs(now = Date.now()): number {
    let oldest = now
    for (const entry of this.index.values()) {
      oldest = Math.min(oldest, entry.at)
      break
    }
    for (const entry of this.merges.values()) oldest = Math.min(oldest, entry.at)
    return now - oldest
  }

  /** Every append receipt up to this one has left the outbox (it was shipped and confirmed). */
  confirmedThrough(): number {
    let floor = this.nextKey
    for (const entry of this.index.values()) {
      floor = Math.min(floor, entry.floor)
      break
    }
    for (const entry of this.merges.values()) floor = Math.min(floor, entry.floor)
    return floor - 1
  }

  /** Whether anything of `name` waits to be shipped. */
  has(name: string): boolean {
    return this.byName.has(name)
  }

  /** Names with entries waiting, and how many each. */
  names(): Map<string, number> {
    return new Map([...this.byName].map(([name, keys]) => [name, keys.size]))
  }

  /** Appends durably; resolves with the last key written (0 for nothing). */
  async append(entries: readonly AppendEntry[], now = Date.now()): Promise<number> {
    this.check()
    if (entries.length === 0) return this.nextKey - 1
    // Keys are taken synchronously: concurrent appends never collide, and commit in key order.
    const puts = entries.map(({ name, update }) => ({ key: this.nextKey++, value: { d: name, u: update, t: now } }))
    const last = this.nextKey - 1
    await this.serialized(() => this.backend.write(puts, [], last))
    for (const { key, value } of puts) this.indexAdd(key, { name: value.d, bytes: value.u.length, at: value.t, floor: key })
    return last
  }

  /** The oldest entries, in key order: at most `maxEntries`, and at most `maxBytes` unless the first alone is larger. */
  peek(maxEntries: number, maxBytes: number): OutboxEntry[] {
    this.check()
    const out: OutboxEntry[] = []
    let bytes = 0
    for (const [key, entry] of this.index) {
      if (out.length >= maxEntries || (out.length > 0 && bytes + entry.bytes > maxBytes)) break
      const stored = this.backend.get(key)
      if (!stored) throw new Error(`outbox entry ${key} is indexed but missing on disk`)
      out.push({ key, name: stored.d, update: stored.u })
      bytes += entry.bytes
    }
    return out
  }

  /** Unshipped updates of one document, oldest first (merged into a load). */
  updatesOf(name: string): Uint8Array[] {
    this.check()
    const keys = this.byName.get(name)
    if (!keys) return []
    return [...keys].sort((a, b) => a - b).map((key) => this.backend.get(key)!.u)
  }

  /** Removes exactly these entries (the shared store confirmed them). */
  async remove(keys: readonly number[]): Promise<void> {
    this.check()
    const present = keys.filter((key) => this.index.has(key))
    if (present.length === 0) return
    await this.serialized(() => this.backend.write([], present, this.nextKey - 1))
    for (const key of present) this.indexRemove(key)
  }

  /**
   * Replaces some of a document's entries by one (their merge), at a new key: while the
   * shared store is down, this keeps the queue proportional to what changed rather than to
   * how many times. Atomic, so a crash keeps either the parts or the merge.
   */
  async replace(name: string, keys: readonly number[], merged: Uint8Array, now = Date.now()): Promise<number> {
    this.check()
    const key = this.nextKey++
    const parts = keys.map((k) => this.index.get(k)).filter((e) => e !== undefined)
    const at = Math.min(now, ...parts.map((e) => e.at))
    const floor = Math.min(key, ...parts.map((e) => e.floor))
    await this.serialized(() => this.backend.write([{ key, value: { d: name, u: merged, t: at, f: floor } }], keys, key))
    for (const k of keys) this.indexRemove(k)
    this.indexAdd(key, { name, bytes: merged.length, at, floor })
    return key
  }

  /** Keys of one document's entries, ascending. */
  keysOf(name: string): number[] {
    return [...(this.byName.get(name) ?? [])].sort((a, b) => a - b)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.backend.close()
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError('outbox')
  }

  private serialized(write: () => Promise<void>): Promise<void> {
    const done = this.writes.then(write)
    this.writes = done.catch(() => {})
    return done
  }

  private indexAdd(key: number, entry: IndexEntry): void {
    this.index.set(key, entry)
    if (entry.floor < key) this.merges.set(key, entry)
    this.totalBytes += entry.bytes
    let keys = this.byName.get(entry.name)
    if (!keys) this.byName.set(entry.name, (keys = new Set()))
    keys.add(key)
  }

  private indexRemove(key: number): void {
    const entry = this.index.get(key)
    if (!entry) return
    this.index.delete(key)
    this.merges.delete(key)
    this.totalBytes -= entry.bytes
    const keys = this.byName.get(entry.name)!
    keys.delete(key)
    if (keys.size === 0) this.byName.delete(entry.name)
  }
}

/** The outbox in an LMDB environment (the node's DATA_DIR): synced commits, survives SIGKILL. */
export function openLmdbOutbox(path: string, mapSize = 64 * 1024 ** 3): Outbox {
  mkdirSync(path, { recursive: true })
  const root: RootDatabase = open({ path, noSubdir: false, mapSize, compression: false })
  const entries: Database<Stored, number> = root.openDB({ name: 'outbox', encoding: 'msgpack' })
  const meta: Database<number, string> = root.openDB({ name: 'outbox-meta', encoding: 'msgpack' })
  return new Outbox({
    scan: () => entries.getRange({}).map(({ key, value }) => ({ key, value })),
    get: (key) => entries.get(key),
    lastKey: () => meta.get('lastKey') ?? 0,
    write: (puts, removes, lastKey) =>
      root.transaction(() => {
        for (const { key, value } of puts) entries.put(key, value)
        for (const key of removes) entries.remove(key)
        meta.put('lastKey', lastKey)
      }),
    close: () => root.close(),
  })
}
