/**
 * Two compactors racing on one document of a shared store, with real worker threads: the
 * first one's lease expires while it is slow, a second node takes the lease and compacts.
 * The slow one must neither lose nor roll back anything.
 */
import { pino } from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { LogStore } from '../../persistence/mongo/log-store.ts'
import { MemoryLogBackend } from '../../persistence/testing/mongo-memory-backend.ts'
import { createMetrics } from '../metrics.ts'
import { WorkerPool } from '../workers/pool.ts'
import { Compactor } from './compactor.ts'

const pool = new WorkerPool(2)
afterAll(() => pool.close())

/** A lease like the Redis one: exclusive until it expires (here when `expire()` says its TTL ran out), and every grant gets a higher token. */
function leases() {
  let token = 0
  let holder: { token: number; expired: boolean } | null = null
  const acquire = async (_name: string) => {
    if (holder && !holder.expired) return null
    const mine = { token: ++token, expired: false }
    holder = mine
    return { token: mine.token, release: async () => void (holder === mine && (holder = null)) }
  }
  return { acquire, expire: () => void (holder && (holder.expired = true)) }
}

describe('Compactor on a shared store', () => {
  it('a compactor whose lease expired while it was slow writes nothing; no update is lost or rolled back', async () => {
    const backend = new MemoryLogBackend()
    const store = new LogStore(backend)
    const lease = leases()
    const make = () => new Compactor({ store, pool, threshold: 1_000_000, logger: pino({ level: 'silent' }), metrics: createMetrics(), lease: lease.acquire })
    const [slow, fast] = [make(), make()]
    const src = new Y.Doc()
    const edit = (from: number, to: number) => {
      const updates: Uint8Array[] = []
      const on = (u: Uint8Array) => updates.push(u)
      src.on('update', on)
      for (let i = from; i < to; i++) src.getMap('objects').set(`o${i}`, { i })
      src.off('update', on)
      return store.append(updates.map((update) => ({ name: 'd', update })))
    }
    await edit(0, 50)

    // The slow node stalls right before its conditional write, long past its lease.
    let release!: () => void
    let stalled!: () => void
    const reached = new Promise<void>((r) => (stalled = r))
    backend.hook = async (op) => {
      if (op !== 'swapSnapshot') return
      backend.hook = null
      stalled()
      await new Promise<void>((r) => (release = r))
    }
    const slowRun = slow.compact('d')
    await reached
    lease.expire() // its lease runs out while it is stalled
    await edit(50, 80)
    expect(await fast.compact('d')).toBe('ok')
    release()
    expect(await slowRun).toBe('stale') // handled: nothing written, nothing lost

    const stored = (await store.load('d'))!
    expect(stored.basis.version).toBe(1) // only the fast one's snapshot was written
    expect(stored.updates).toHaveLength(0)
    const replica = new Y.Doc()
    Y.applyUpdate(replica, stored.snapshot!)
    expect(replica.getMap('objects').toJSON()).toEqual(src.getMap('objects').toJSON())
    expect(Object.keys(replica.getMap('objects').toJSON())).toHaveLength(80)
  })
})
