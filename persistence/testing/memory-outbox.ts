/**
 * Test double: the outbox on a Map, for unit tests. `disk` outlives the Outbox: a new one on the same
 * disk is what a restart sees (only completed writes are on it).
 */
import { Outbox, type Stored } from '../outbox.ts'

export function memoryOutbox(disk: MemoryOutboxDisk = { entries: new Map(), lastKey: 0 }): Outbox {
  return new Outbox({
    scan: () => [...disk.entries].sort(([a], [b]) => a - b).map(([key, value]) => ({ key, value })),
    get: (key) => disk.entries.get(key),
    lastKey: () => disk.lastKey,
    write: async (puts, removes, lastKey) => {
      for (const { key, value } of puts) disk.entries.set(key, { ...value, u: value.u.slice() })
      for (const key of removes) disk.entries.delete(key)
      disk.lastKey = lastKey
    },
    close: async () => {},
  })
}

export interface MemoryOutboxDisk {
  entries: Map<number, Stored>
  lastKey: number
}
