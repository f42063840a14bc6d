/**
 * Capped exponential backoff, the one formula for every loop that retries (the Redis bus's
 * reconnects, group commit's store appends, shipping to the shared store) and, later, the
 * client SDK's reconnects: so it is pure and browser-safe (no timers, no Node APIs).
 *
 * Jitter spreads a fleet's retries so that nodes (or clients) that lost the same server at
 * the same moment do not come back in lockstep; it is applied after the cap, so a jittered
 * delay may exceed `maxMs` by up to `jitter` of it.
 */
export interface Backoff {
  /** Delay of attempt 0. */
  readonly baseMs: number
  /** Largest delay before jitter. */
  readonly maxMs: number
  /** Spread as a fraction of the delay: 0.25 gives delay × [0.75, 1.25). Default 0. */
  readonly jitter?: number
}

/**
 * The delay before retry `attempt` (0 for the first): min(maxMs, baseMs × 2^attempt), spread
 * by `jitter`. `random` is a number in [0, 1) (Math.random() by default; a test passes its own).
 */
export function backoffMs(attempt: number, { baseMs, maxMs, jitter = 0 }: Backoff, random: number = Math.random()): number {
  // 2 ** attempt turns to Infinity past 1023 (and 0 × Infinity is NaN): clamped far beyond any cap.
  const delay = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 64))
  return jitter === 0 ? delay : delay * (1 - jitter + 2 * jitter * random)
}
