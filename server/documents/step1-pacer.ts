/**
 * What a sync step 1 may cost. A state vector is a few bytes, but answering it walks the
 * document: `Y.encodeStateAsUpdate(doc, sv)` builds the delete set from every struct, and a
 * vector that lacks most of the document makes the answer the whole document again (about
 * 0.5 s for a 100,000-object building). Honest clients send one on connect (and the SDK a few
 * while it has unconfirmed changes); a hostile one could send a thousand a second.
 *
 * - A vector that lacks most of the document gets the cached full answer (a superset of what
 *   it asked: Yjs applies what it already has as a no-op), so the shared encoding serves it.
 * - Each session's answers are paced: after one, the next waits at least MIN_INTERVAL_MS, or
 *   COST_FACTOR times what the last one took, whichever is longer. A step 1 that arrives in
 *   between replaces the one waiting (the newest vector says everything the older did), so
 *   a flood costs one answer per interval and nothing queues.
 */
import type { Session } from './session.ts'

export const MIN_INTERVAL_MS = 250
const COST_FACTOR = 20

/** Whether `asked` lacks more than a quarter of what `server` holds (counted in clock units). */
export function lacksMost(server: ReadonlyMap<number, number>, asked: ReadonlyMap<number, number>): boolean {
  let total = 0
  let missing = 0
  for (const [client, clock] of server) {
    total += clock
    missing += Math.max(0, clock - Math.min(clock, asked.get(client) ?? 0))
  }
  return missing * 4 > total
}

interface Pace {
  /** When the last answer was sent, and what it cost (ms). */
  at: number
  costMs: number
  /** The newest step 1 waiting for its turn. */
  waiting: Uint8Array | null
  timer: ReturnType<typeof setTimeout> | null
}

export class StepOnePacer {
  private readonly paces = new Map<Session, Pace>()

  /** `answer` sends the answer to one state vector now. */
  constructor(private readonly answer: (session: Session, stateVector: Uint8Array) => void) {}

  offer(session: Session, stateVector: Uint8Array, now = performance.now()): void {
    const pace = this.paces.get(session)
    if (!pace) return this.run(session, stateVector, now)
    const due = pace.at + Math.max(MIN_INTERVAL_MS, COST_FACTOR * pace.costMs)
    if (now >= due && !pace.timer) return this.run(session, stateVector, now)
    pace.waiting = stateVector
    pace.timer ??= setTimeout(() => {
      pace.timer = null
      const waiting = pace.waiting
      pace.waiting = null
      if (waiting && this.paces.get(session) === pace) this.run(session, waiting, performance.now())
    }, due - now)
  }

  /** The session left its document: nothing of it waits any more. */
  forget(session: Session): void {
    const pace = this.paces.get(session)
    if (pace?.timer) clearTimeout(pace.timer)
    this.paces.delete(session)
  }

  private run(session: Session, stateVector: Uint8Array, now: number): void {
    this.answer(session, stateVector)
    this.paces.set(session, { at: now, costMs: performance.now() - now, waiting: null, timer: null })
  }
}
