/**
 * The MongoDB adapter without a server (no MongoDB server can be installed on the machines this suite runs on): what it does when
 * MongoDB is unreachable. The DocStore contract runs against a real server in
 * doc-store.test.ts whenever MONGODB_URL is set.
 */
import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { createMongoStore, MongoBackend } from './mongo-backend.ts'

async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('MongoDB adapter, MongoDB unreachable', () => {
  it('fails each operation with a server-selection error (never "topology closed"), reports down, and keeps trying', async () => {
    const errors: string[] = []
    const ups: boolean[] = []
    const { store, backend } = createMongoStore({
      url: `mongodb://127.0.0.1:${await deadPort()}/?directConnection=true`,
      db: 'atrium_unreachable',
      timeoutMs: 200,
      observer: { error: (op) => errors.push(op), up: (up) => ups.push(up) },
    })
    try {
      // The driver's implicit connect would leave a closed topology after the first failure,
      // and every later call would fail at once with MongoTopologyClosedError, forever.
      for (let i = 0; i < 3; i++) {
        const err = await store.load('site/a').catch((e: unknown) => e as Error)
        expect(err).toBeInstanceOf(Error)
        expect((err as Error).name).toBe('MongoServerSelectionError')
      }
      await expect(store.append([{ name: 'site/a', update: Uint8Array.of(1, 2) }])).rejects.toThrow()
      expect(backend.up).toBe(false)
      expect(ups).toEqual([false])
      expect(errors).toContain('readLog')
      expect(errors).toContain('reserve')
    } finally {
      await store.close()
    }
    await expect(store.load('site/a')).rejects.toThrow(/closed/)
  })

  it("refuses unacknowledged writes (w: 0): compaction's compare-and-swap needs the match count", () => {
    expect(() => new MongoBackend({ url: 'mongodb://127.0.0.1:1', db: 'x', w: 0 })).toThrow(/w:0 is not supported/)
  })
})
