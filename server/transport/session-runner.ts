/**
 * What every session goes through, whatever its framing: its document is loaded (bounded by
 * MAX_LOADED_DOCUMENTS) and joined, the messages it sent meanwhile replayed; its messages run
 * in order, in fair turns (frame-turns.ts), through the writer's wait when its document is
 * held; it ends when its token expires. Ending a session is the framing's business (`end`):
 * with y-websocket it ends the socket, with Hocuspocus often only that document.
 *
 * Rules: every wait is bounded and past it the session is refused with a catalogued code; a
 * refusal is counted and logged (at most a line a second per address), never thrown.
 */
import Denque from 'denque'
import { CloseCodes, type CloseCode } from '../../shared/protocol/close-codes.ts'
import type { Refusal } from '../admission/admission.ts'
import type { Config } from '../config.ts'
import { DocumentQuarantined, type DocumentRegistry } from '../documents/registry.ts'
import type { Session } from '../documents/session.ts'
import { LogLimiter, type Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import type { Connection } from './connection.ts'
import { type Rejection, rejectionOf } from './dispatch.ts'
import { type Backlogged, FrameTurns } from './frame-turns.ts'

/** A session's transport side, as the runner needs it (transport/y-websocket.ts, transport/hocuspocus.ts). */
export interface RunnerLink extends Backlogged {
  readonly conn: Connection
  readonly session: Session
  /** Messages received while the document loads; null once it is served. */
  held: Uint8Array[] | null
  heldBytes: number
  readonly backlog: Denque<Uint8Array>
  /** Ends the session with `code` (its framing decides whether the socket ends with it). */
  end(code: CloseCode, detail: string): void
  /** Runs `hook` when the session ends (with its socket, or alone). */
  onEnd(hook: () => void): void
}

/** What a link keeps for the runner, the same in both framings: the messages waiting for its load and for later turns. */
export abstract class QueuedMessages implements Backlogged {
  abstract readonly closed: boolean
  /** Messages received while the document loads; null once it is served. */
  held: Uint8Array[] | null = []
  heldBytes = 0
  /** Messages waiting for a later turn of the event loop (transport/frame-turns.ts). */
  readonly backlog = new Denque<Uint8Array>()
  backlogBytes = 0
  turn = 0
  turnMs = 0
}

export interface RunnerDeps<L extends RunnerLink> {
  readonly config: Config
  readonly registry: () => DocumentRegistry
  readonly logger: Logger
  readonly metrics: Metrics
  /** Why no more documents may be loaded now (memory), or null. */
  readonly loadRefusal: () => string | null
  /** Runs one message of a served session against its document; a rejection ends the session. */
  readonly dispatch: (link: L, message: Uint8Array) => Rejection | null
}

export interface SessionRunner<L extends RunnerLink> {
  /** Closes a socket with a catalogued code, counted and logged (rate-limited per address). */
  reject(conn: Connection, doc: string, code: CloseCode, detail: string): void
  /** Logs (rate-limited per address), then closes the socket; for closes that are not protocol errors. */
  closeLogged(conn: Connection, doc: string, code: CloseCode, fields: Record<string, unknown>, detail?: string): void
  /** Logs (rate-limited per address) and counts a session's end, then ends it through the framing. */
  endSession(link: L, code: CloseCode, detail: string): void
  refused(link: L, refusal: Refusal): void
  /** Loads the session's document, joins it and replays what it sent meanwhile. */
  serve(link: L): void
  /** A message of a served session: now, or in a later turn (in order). */
  offer(link: L, message: Uint8Array): void
  /** Holds a message of a session whose document loads; false when its bounded room is full (the session was ended). */
  hold(link: L, message: Uint8Array): boolean
  /** Ends the session within a second of its token's `exp`. */
  expireAt(link: L): void
}

export function createSessionRunner<L extends RunnerLink>(deps: RunnerDeps<L>): SessionRunner<L> {
  const { config, logger, metrics } = deps
  const preloadBytes = 2 * config.MAX_MESSAGE_BYTES
  // One line per second per address: a client refused in a loop must not flood the log.
  const limiter = new LogLimiter()
  const logged = (conn: Connection, doc: string, code: CloseCode, fields: Record<string, unknown>, what = 'connection') => {
    const suppressed = limiter.allow(conn.remote)
    if (suppressed !== null)
      logger.warn({ conn: conn.id, doc, remote: conn.remote, ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, `closing ${what}: ${code.reason}`)
  }
  /** What ending a session closes: a Hocuspocus session ends alone unless its code says retry (hocuspocus-socket.ts). */
  const closes = (link: L, code: CloseCode) => (link.session.link.hocuspocus && !code.retry ? 'document' : 'connection')
  const closeLogged = (conn: Connection, doc: string, code: CloseCode, fields: Record<string, unknown>, detail?: string) => {
    logged(conn, doc, code, fields)
    conn.close(code, detail)
  }
  const reject = (conn: Connection, doc: string, code: CloseCode, detail: string) => {
    if (conn.closed) return
    metrics.protocolErrors.inc({ reason: code.name })
    closeLogged(conn, doc, code, { code: code.code, detail }, detail)
  }
  const endSession = (link: L, code: CloseCode, detail: string) => {
    if (link.closed) return
    metrics.protocolErrors.inc({ reason: code.name })
    logged(link.conn, link.session.docName, code, { code: code.code, detail }, closes(link, code))
    link.end(code, detail)
  }
  const refused = (link: L, refusal: Refusal) => {
    const r = rejectionOf(refusal)
    endSession(link, r.code, r.detail)
  }

  /** Runs one message against the session's document now. */
  const handle = (link: L, message: Uint8Array) => {
    if (link.closed) return
    const rejection = deps.dispatch(link, message)
    if (rejection) endSession(link, rejection.code, rejection.detail)
  }
  const queueFull = (link: L) =>
    endSession(
      link,
      CloseCodes.QUEUE_FULL,
      `too many messages or bytes waiting (${8 * config.MAX_MESSAGE_BYTES} bytes at most), or the node's waiting room is full`,
    )
  /** One message of a served session: now, or after what holds the document (keeping the session's order). */
  const deliver = (link: L, message: Uint8Array) => {
    if (link.closed) return
    const { session } = link
    const writer = session.doc!.writer
    if (!writer.mustWait(session)) return handle(link, message)
    if (!writer.defer(session, message.length, () => handle(link, message))) queueFull(link)
  }
  // No session, and no burst of all of them, holds a turn of the event loop for long.
  const turns = new FrameTurns<L>({
    perSenderMs: FRAME_MS_PER_SESSION,
    perTurnMs: FRAME_MS_PER_TURN,
    // A client replaying typing sends thousands of tiny frames at once: bounded by bytes, and by a count far above that.
    maxMessages: FRAME_BACKLOG_MESSAGES,
    maxBytes: 8 * config.MAX_MESSAGE_BYTES,
    run: deliver,
    overflow: queueFull,
  })

  const serve = (link: L) => {
    const { session } = link
    const registry = deps.registry()
    if (!registry.peek(session.docName) && registry.size >= config.MAX_LOADED_DOCUMENTS)
      return endSession(link, CloseCodes.TOO_MANY_DOCUMENTS, `${registry.size} documents loaded (MAX_LOADED_DOCUMENTS)`)
    const memory = registry.peek(session.docName) ? null : deps.loadRefusal()
    if (memory) return endSession(link, CloseCodes.MEMORY_PRESSURE, memory)
    registry.acquire(session.docName).then(
      (doc) => {
        if (link.closed) return
        // An idle document may have been unloaded between its lookup and now (memory pressure
        // unloads at once): load it again rather than join a destroyed one.
        if (deps.registry().peek(session.docName) !== doc) return serve(link)
        deps.registry().attach(doc, session)
        doc.greet(session)
        const held = link.held ?? []
        link.held = null
        for (const message of held) {
          if (link.closed) return
          turns.offer(link, message)
        }
      },
      (err: Error) => {
        if (link.closed) return
        const code = err instanceof DocumentQuarantined ? CloseCodes.DOCUMENT_QUARANTINED : CloseCodes.DOCUMENT_UNAVAILABLE
        logged(link.conn, session.docName, code, { err: err.message }, closes(link, code))
        link.end(code, err.message)
      },
    )
  }

  const hold = (link: L, message: Uint8Array): boolean => {
    // Bounded in count and bytes: a client cannot park unbounded memory behind a slow load.
    link.heldBytes += message.length
    if (link.held!.length >= config.PRELOAD_QUEUE_MESSAGES || link.heldBytes > preloadBytes) {
      endSession(link, CloseCodes.QUEUE_FULL, `${link.held!.length + 1} messages, ${link.heldBytes} bytes while the document loads`)
      return false
    }
    link.held!.push(message)
    return true
  }

  const expireAt = (link: L) => {
    const exp = link.session.identity.exp
    if (exp === null) return
    let timer: NodeJS.Timeout
    // Node fires a timer of more than 2^31-1 ms (24.8 days) at once: longer waits go in steps.
    const arm = () => {
      const left = exp * 1000 - Date.now()
      timer = setTimeout(
        () => (left > MAX_TIMER_MS ? arm() : endSession(link, CloseCodes.TOKEN_EXPIRED, `token expired at ${new Date(exp * 1000).toISOString()}`)),
        Math.max(0, Math.min(left, MAX_TIMER_MS)),
      )
      timer.unref()
    }
    arm()
    link.onEnd(() => clearTimeout(timer))
  }

  return {
    reject,
    closeLogged,
    endSession,
    refused,
    serve,
    offer: (link, message) => turns.offer(link, message),
    hold,
    expireAt,
  }
}

/** The longest delay a Node timer keeps (2^31-1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** Time the messages of one session, and of all sessions, may take in one turn of the event loop before the rest waits for the next. */
const FRAME_MS_PER_SESSION = 5
const FRAME_MS_PER_TURN = 20
/** Messages one session may have waiting for later turns (besides 8 × MAX_MESSAGE_BYTES of them). */
const FRAME_BACKLOG_MESSAGES = 100_000
