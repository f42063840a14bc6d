/**
 * A token bucket: `rate` tokens a second, holding at most `burst`. What a client may spend
 * per second with room for bursts: a real editor's pace never drains it; a flood does within
 * a second or two. Refilled lazily from the clock on each take (no timers per connection).
 */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number = performance.now(),
  ) {
    this.tokens = burst
    this.last = now
  }

  /** Takes `n` tokens if there are that many (after refilling to `now`, in ms); false leaves it untouched. */
  take(n: number, now: number = performance.now()): boolean {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000)
      this.last = now
    }
    if (this.tokens < n) return false
    this.tokens -= n
    return true
  }
}

/** What one connection may send: messages, bytes and awareness messages, each a bucket. */
export interface RateLimits {
  readonly messagesPerS: number
  readonly messageBurst: number
  readonly bytesPerS: number
  readonly bytesBurst: number
  readonly awarenessPerS: number
  readonly awarenessBurst: number
}

export class ConnectionRates {
  private readonly messages: TokenBucket
  private readonly bytes: TokenBucket
  private readonly awareness: TokenBucket

  constructor(limits: RateLimits) {
    this.messages = new TokenBucket(limits.messagesPerS, limits.messageBurst)
    this.bytes = new TokenBucket(limits.bytesPerS, limits.bytesBurst)
    this.awareness = new TokenBucket(limits.awarenessPerS, limits.awarenessBurst)
  }

  /** Null when a message of `bytes` may go in; else which rate it is over. */
  over(bytes: number, now: number = performance.now()): 'messages' | 'bytes' | null {
    if (!this.messages.take(1, now)) return 'messages'
    if (!this.bytes.take(bytes, now)) return 'bytes'
    return null
  }

  /**
   * One awareness message that changes the sender's own presence; false when over the rate.
   * Charged once the message is decoded, not as it arrives: an unchanged y-websocket 3.1
   * client echoes every state it receives (yjs/yjs#732), and those echoes, dropped unread as
   * other clients' entries, must not count against its own presence (they still count as
   * messages and bytes).
   */
  takeAwareness(now: number = performance.now()): boolean {
    return this.awareness.take(1, now)
  }
}
