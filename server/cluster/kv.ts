/**
 * Small shared state in Redis, next to the bus: cluster-wide leases (compaction of a document
 * on shared storage, one computation of a state in the compute cache) and a cache of short
 * strings (compute results).
 *
 * Rules: everything here is best effort and never blocks a node. While Redis is down or a
 * command fails, `get` answers null, `set` false and `lease` null (the caller skips or does
 * the work itself); nothing is queued or retried. Keys get the cluster's prefix here, so
 * callers name only what they hold (`compact:<doc>`, `compute:<hash>`); a lease lives under
 * `{<prefix><key>}:lease` (braces: one Redis Cluster slot per lease).
 */
import type { Redis } from 'ioredis'

/** A cluster-wide exclusive lease. */
export interface Lease {
  /** Fencing token: higher than every earlier holder's (a store refuses a lower one). */
  readonly token: number
  /** Lets go, if we still hold it (after expiry someone else may). */
  release(): Promise<void>
}

/** What callers use (compute's shared cache, compaction's lease); null/false when Redis is unavailable. */
export interface SharedKv {
  readonly isUp: boolean
  get(key: string): Promise<string | null>
  set(key: string, value: string, ttlMs: number): Promise<boolean>
  lease(key: string, ttlMs: number): Promise<Lease | null>
  /** Sets one field of a hash (kept `ttlMs` from its last write); false when Redis is unavailable. */
  hashSet(key: string, field: string, value: string, ttlMs: number): Promise<boolean>
  /** Every field of a hash; null when Redis is unavailable. */
  hashAll(key: string): Promise<Record<string, string> | null>
}

/** The Redis commands this needs (the bus's publishing connection; ioredis Redis or Cluster). */
export type KvCommands = Pick<Redis, 'eval' | 'get' | 'set'>

/** The connection it runs on: commands, and whether they can be sent now. */
export interface KvConnection {
  readonly isUp: boolean
  readonly commands: KvCommands
}

const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
/**
 * Takes the lease if free; returns its fencing token, or false. The token is the Redis
 * server's clock in microseconds: it grows with every grant however many nodes ask (one
 * key lives on one server), and unlike an INCR counter it keeps growing after Redis
 * restarts without persistence — a counter starting again at 1 would be refused by a store
 * that remembers a higher token. Two grants in one microsecond cannot both win SET NX.
 * Built as a decimal string (Lua would print a 16-digit number in exponent form).
 */
const ACQUIRE = `local t = redis.call('TIME')
local token = t[1] .. string.format('%06d', tonumber(t[2]))
if redis.call('SET', KEYS[1], token, 'PX', ARGV[1], 'NX') then return token end
return false`

const HSET = "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) redis.call('PEXPIRE', KEYS[1], ARGV[3]) return 1"
const HGETALL = "return redis.call('HGETALL', KEYS[1])"

export class RedisKv implements SharedKv {
  constructor(
    private readonly redis: KvConnection,
    private readonly prefix: string,
  ) {}

  get isUp(): boolean {
    return this.redis.isUp
  }

  /** A short exclusive lease on `key` (SET NX PX); null when someone else holds it or Redis is unreachable. */
  async lease(key: string, ttlMs: number): Promise<Lease | null> {
    if (!this.redis.isUp) return null
    const leaseKey = `{${this.prefix}${key}}:lease`
    const { commands } = this.redis
    try {
      const granted = (await commands.eval(ACQUIRE, 1, leaseKey, String(ttlMs))) as string | null
      if (granted === null) return null
      return {
        token: Number(granted),
        release: async () => {
          await commands.eval(RELEASE, 1, leaseKey, granted).catch(() => {}) // expires anyway
        },
      }
    } catch {
      return null
    }
  }

  async get(key: string): Promise<string | null> {
    if (!this.redis.isUp) return null
    try {
      return await this.redis.commands.get(`${this.prefix}${key}`)
    } catch {
      return null
    }
  }

  async set(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (!this.redis.isUp) return false
    try {
      return (await this.redis.commands.set(`${this.prefix}${key}`, value, 'PX', ttlMs)) === 'OK'
    } catch {
      return false
    }
  }

  async hashSet(key: string, field: string, value: string, ttlMs: number): Promise<boolean> {
    if (!this.redis.isUp) return false
    try {
      return (await this.redis.commands.eval(HSET, 1, `${this.prefix}${key}`, field, value, String(ttlMs))) === 1
    } catch {
      return false
    }
  }

  async hashAll(key: string): Promise<Record<string, string> | null> {
    if (!this.redis.isUp) return null
    try {
      const flat = (await this.redis.commands.eval(HGETALL, 1, `${this.prefix}${key}`)) as string[]
      const out: Record<string, string> = {}
      for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!
      return out
    } catch {
      return null
    }
  }
}
