/**
 * The compaction lease on a real redis-server: exclusive, released only by its holder, and
 * fencing tokens that keep growing — also after Redis restarts and forgets every key (a
 * counter would start again at 1, and a store remembering a higher token would refuse
 * every compaction from then on).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { createLogger } from '../log.ts'
import { eventually } from '../../load-tests/harness/clients.ts'
import { startRedis, stopAllRedis } from '../../load-tests/harness/redis.ts'
import { RedisBus } from './bus.ts'
import { RedisKv } from './kv.ts'

afterAll(() => stopAllRedis())

describe('RedisKv lease', () => {
  it('is exclusive, released by its holder only, and its tokens grow across a Redis restart', async () => {
    const redis = await startRedis()
    let up = false
    const bus = new RedisBus({
      url: redis.url,
      logger: createLogger({ level: 'silent', pretty: false }),
      maxReconnectDelayMs: 100,
      onMessage: () => {},
      onReady: () => (up = true),
      onDown: () => (up = false),
    })
    bus.start()
    const kv = new RedisKv(bus, 'atrium:')
    try {
      await eventually(
        'bus up',
        async () => up,
        (v) => v,
      )
      const first = (await kv.lease('compact:d', 5000))!
      expect(first.token).toBeGreaterThan(1.7e15) // microseconds of the Redis clock
      expect(Number.isSafeInteger(first.token)).toBe(true)
      expect(await kv.lease('compact:d', 5000)).toBeNull()
      expect(await kv.lease('compact:other', 5000)).not.toBeNull()
      await first.release()
      const second = (await kv.lease('compact:d', 50))!
      expect(second.token).toBeGreaterThan(first.token)
      await new Promise((r) => setTimeout(r, 120)) // real time: the 50 ms TTL itself is under test (Redis expires the key), not a wait for a condition
      const third = (await kv.lease('compact:d', 5000))!
      await second.release() // expired holder: must not release the new one
      expect(await kv.lease('compact:d', 5000)).toBeNull()
      expect(third.token).toBeGreaterThan(second.token)

      await redis.stop() // no persistence: every key is gone after the restart
      await redis.start()
      await eventually(
        'bus up again',
        async () => up,
        (v) => v,
      )
      const afterRestart = (await kv.lease('compact:d', 5000))!
      expect(afterRestart.token).toBeGreaterThan(third.token)
    } finally {
      await bus.close()
    }
  })
})
