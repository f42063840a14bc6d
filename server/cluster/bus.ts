/**
 * The Redis side of cluster mode: one connection that publishes, one that subscribes
 * (Redis requires a dedicated one), channel bookkeeping and connection state. It moves
 * bytes and knows nothing about documents; its publishing connection also carries the
 * plain commands of server/cluster/kv.ts (leases, the compute cache).
 *
 * While Redis is unreachable nothing is queued: publishes are dropped (anti-entropy
 * repairs the gap once Redis is back), and ioredis reconnects with capped backoff. The set
 * of channels we want is ours, not ioredis's: after every (re)connection we subscribe to
 * all of them and only then report `onReady`, so anti-entropy requests never go out
 * before their replies can be heard.
 */
import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis'
import { backoffMs } from '../../shared/backoff.ts'
import type { Logger } from '../log.ts'
import type { KvCommands } from './kv.ts'

export interface BusOptions {
  /** redis:// or rediss:// URL of a single Redis (or a Sentinel-less primary). */
  readonly url?: string | undefined
  /** Redis Cluster seed nodes; takes precedence over `url`. */
  readonly clusterNodes?: readonly ClusterNode[] | undefined
  readonly logger: Logger
  /** Backoff cap between reconnection attempts. */
  readonly maxReconnectDelayMs?: number
  readonly onMessage: (channel: string, message: Uint8Array) => void
  /** Called each time both connections are up and every wanted channel is subscribed. */
  readonly onReady: () => void
  /** Called when the bus goes from up to down. */
  readonly onDown: () => void
}

type Client = Redis | Cluster

export class RedisBus {
  private readonly pub: Client
  private readonly sub: Client
  private readonly wanted = new Set<string>()
  private up = false
  private closed = false
  private readyRun = 0

  constructor(private readonly opts: BusOptions) {
    const reconnect = { baseMs: 50, maxMs: opts.maxReconnectDelayMs ?? 2000, jitter: 0.25 }
    // Exponential from 50 ms, capped, with jitter so a fleet does not reconnect in lockstep.
    const retryStrategy = (times: number) => backoffMs(Math.min(times, 10), reconnect)
    const options: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      autoResubscribe: false,
      retryStrategy,
      connectionName: 'atrium',
    }
    const make = (): Client =>
      opts.clusterNodes && opts.clusterNodes.length > 0
        ? new Cluster([...opts.clusterNodes], { redisOptions: options, enableOfflineQueue: false, clusterRetryStrategy: retryStrategy, lazyConnect: true })
        : new Redis(opts.url ?? 'redis://127.0.0.1:6379', options)
    this.pub = make()
    this.sub = make()
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      opts.onMessage(channel.toString(), new Uint8Array(message.buffer, message.byteOffset, message.byteLength))
    })
    for (const [role, client] of [
      ['publisher', this.pub],
      ['subscriber', this.sub],
    ] as const) {
      client.on('ready', () => void this.checkReady())
      client.on('close', () => this.checkDown())
      client.on('end', () => this.checkDown())
      client.on('error', (err: Error) => {
        // ioredis reports every failed reconnection; one line per state change is enough.
        if (!this.closed) opts.logger.debug({ role, err: err.message }, 'redis connection error')
      })
    }
  }

  /** Starts connecting; resolves at once (a node starts even while Redis is down). */
  start(): void {
    for (const client of [this.pub, this.sub]) client.connect().catch(() => {}) // retried by retryStrategy
  }

  get isUp(): boolean {
    return this.up
  }

  private bothReady(): boolean {
    return this.pub.status === 'ready' && this.sub.status === 'ready'
  }

  private async checkReady(): Promise<void> {
    if (this.closed || this.up || !this.bothReady()) return
    const run = ++this.readyRun
    try {
      if (this.wanted.size > 0) await this.sub.subscribe(...this.wanted)
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'redis resubscribe failed; retrying on the next connection')
      return
    }
    if (run !== this.readyRun || this.closed || !this.bothReady()) return
    this.up = true
    this.opts.logger.info({ channels: this.wanted.size }, 'redis bus up')
    this.opts.onReady()
  }

  private checkDown(): void {
    this.readyRun++
    if (!this.up || this.bothReady()) return
    this.up = false
    if (!this.closed) {
      this.opts.logger.warn('redis bus down: serving local clients only, reconnecting with backoff')
      this.opts.onDown()
    }
  }

  /** Adds channels to the wanted set and subscribes now when connected. */
  async subscribe(...channels: string[]): Promise<void> {
    const fresh = channels.filter((c) => !this.wanted.has(c))
    for (const c of fresh) this.wanted.add(c)
    if (fresh.length > 0 && this.up) await this.sub.subscribe(...fresh).catch(() => {}) // re-done on reconnect
  }

  async unsubscribe(...channels: string[]): Promise<void> {
    const gone = channels.filter((c) => this.wanted.delete(c))
    if (gone.length > 0 && this.up) await this.sub.unsubscribe(...gone).catch(() => {})
  }

  /** The publishing connection, for plain commands (server/cluster/kv.ts); usable while `isUp`. */
  get commands(): KvCommands {
    return this.pub
  }

  /** Publishes when connected; returns false (dropped) otherwise. */
  publish(channel: string, message: Uint8Array): boolean {
    if (!this.up) return false
    this.pub.publish(channel, Buffer.from(message.buffer, message.byteOffset, message.byteLength)).catch(() => {})
    return true
  }

  async close(): Promise<void> {
    this.closed = true
    this.up = false
    await Promise.allSettled([this.pub.quit(), this.sub.quit()])
    this.pub.disconnect()
    this.sub.disconnect()
  }
}
