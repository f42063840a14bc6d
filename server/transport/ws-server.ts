/**
 * The WebSocket endpoint of the y-websocket framing, at `/<document name>`: the upgrade names
 * the socket's one session (its rights decided there, today all of them), and every frame is
 * that session's message. What is not about one frame lives elsewhere: sockets in
 * connection.ts, the session's link in y-websocket.ts, fair turns in frame-turns.ts, the
 * node's outbound budget in outbound.ts, fan-out in publisher.ts, message handling in dispatch.ts.
 *
 * Rules: a session's messages run in order, through the writer's wait when its document is held;
 * every wait is bounded and past it the session is refused with a catalogued code; a refusal is
 * counted and logged (at most a line a second per address), never thrown.
 */
import type { TemplatedApp, WebSocket } from 'uWebSockets.js'
import { CloseCodes, type CloseCode } from '../../shared/protocol/close-codes.ts'
import { docNameFromPath } from '../../shared/protocol/doc-name.ts'
import type { Refusal } from '../admission/admission.ts'
import type { Config } from '../config.ts'
import { DocumentQuarantined, type DocumentRegistry } from '../documents/registry.ts'
import { canRead, type Identity, OPEN_IDENTITY } from '../auth/claims.ts'
import { originCheck } from '../auth/origin.ts'
import { AuthError, type Authenticator, tokenOf } from '../auth/verifier.ts'
import { grantedTier } from '../../shared/protocol/awareness-tiers.ts'
import { FULL_RIGHTS, type Rights } from '../documents/session.ts'
import { ConnectionRates, type RateLimits } from '../limits/token-bucket.ts'
import { LogLimiter, type Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import { Connection } from './connection.ts'
import { dispatchMessage, type Rejection, rejectionOf } from './dispatch.ts'
import { FrameTurns } from './frame-turns.ts'
import { OutboundBudget } from './outbound.ts'
import type { FanoutHook } from './publisher.ts'
import { uWS } from './uws.ts'
import { YwsLink } from './y-websocket.ts'

/** A socket of this endpoint: its session, or null when the upgrade was refused (it is closed at once with `refusal`). */
interface SocketData {
  readonly conn: Connection
  readonly link: YwsLink | null
  readonly refusal: Rejection | null
}
type Socket = WebSocket<SocketData>

export interface WsDeps {
  readonly config: Config
  readonly registry: () => DocumentRegistry
  readonly logger: Logger
  readonly metrics: Metrics
  readonly auth: Authenticator
}

export function mountWebSocket(
  app: TemplatedApp,
  deps: WsDeps,
  fanout?: FanoutHook,
): { connections: Set<Connection>; closeMatching(matches: (identity: Identity) => boolean): number; stop(): void } {
  const { config, logger, metrics } = deps
  const connections = new Set<Connection>()
  const originAllowed = originCheck(config.ALLOWED_ORIGINS)
  const rates: RateLimits = {
    messagesPerS: config.MAX_MESSAGES_PER_S,
    messageBurst: config.MESSAGE_BURST,
    bytesPerS: config.MAX_BYTES_PER_S,
    bytesBurst: config.BYTES_BURST,
    awarenessPerS: config.MAX_AWARENESS_PER_S,
    awarenessBurst: config.AWARENESS_BURST,
  }
  /** Open sockets per remote address (counted from open to close). */
  const perAddress = new Map<string, number>()
  /** Why one more socket from `remote` is refused, or null. */
  const connectionsFull = (remote: string): string | null => {
    if (connections.size >= config.MAX_CONNECTIONS) return `${connections.size} sockets on this node (MAX_CONNECTIONS)`
    const mine = perAddress.get(remote) ?? 0
    return mine >= config.MAX_CONNECTIONS_PER_ADDRESS ? `${mine} sockets from this address (MAX_CONNECTIONS_PER_ADDRESS)` : null
  }
  const preloadBytes = 2 * config.MAX_MESSAGE_BYTES
  let nextId = 1
  const outbound = new OutboundBudget(connections, config.MAX_OUTBOUND_BYTES, (conn, bytes) =>
    reject(conn, conn.docs, CloseCodes.TOO_SLOW, `${bytes} bytes buffered while the node holds more than ${config.MAX_OUTBOUND_BYTES}`),
  )
  if (fanout) fanout.sent = (bytes) => outbound.sent(bytes)
  const checking = setInterval(() => outbound.check(), OUTBOUND_CHECK_MS)
  checking.unref()
  metrics.beforeScrape.push(() => metrics.outboundBytes.set(outbound.buffered))
  const onSent = (bytes: number) => {
    metrics.messagesOut.inc()
    metrics.bytesOut.inc(bytes)
    outbound.sent(bytes)
  }

  // One line per second per address: a client refused in a loop must not flood the log.
  const limiter = new LogLimiter()
  const closeLogged = (conn: Connection, doc: string, code: CloseCode, fields: Record<string, unknown>, detail?: string) => {
    const suppressed = limiter.allow(conn.remote)
    if (suppressed !== null)
      logger.warn({ conn: conn.id, doc, remote: conn.remote, ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, `closing connection: ${code.reason}`)
    conn.close(code, detail)
  }
  const reject = (conn: Connection, doc: string, code: CloseCode, detail: string) => {
    if (conn.closed) return
    metrics.protocolErrors.inc({ reason: code.name })
    closeLogged(conn, doc, code, { code: code.code, detail }, detail)
  }
  /** Ends a session: with this framing, its socket. */
  const rejectSession = (link: YwsLink, code: CloseCode, detail: string) => reject(link.conn, link.session.docName, code, detail)
  const refused = (link: YwsLink, refusal: Refusal) => {
    const r = rejectionOf(refusal)
    rejectSession(link, r.code, r.detail)
  }

  /** Runs one message against the session's document now. */
  const handle = (link: YwsLink, message: Uint8Array) => {
    if (link.closed) return
    const rejection = dispatchMessage(link.session, link.session.doc!, message, metrics)
    if (rejection) rejectSession(link, rejection.code, rejection.detail)
  }
  const queueFull = (link: YwsLink) =>
    rejectSession(
      link,
      CloseCodes.QUEUE_FULL,
      `too many messages or bytes waiting (${8 * config.MAX_MESSAGE_BYTES} bytes at most), or the node's waiting room is full`,
    )
  /** One message of a served session: now, or after what holds the document (keeping the session's order). */
  const deliver = (link: YwsLink, message: Uint8Array) => {
    if (link.closed) return
    const { session } = link
    const writer = session.doc!.writer
    if (!writer.mustWait(session)) return handle(link, message)
    if (!writer.defer(session, message.length, () => handle(link, message))) queueFull(link)
  }
  // No session, and no burst of all of them, holds a turn of the event loop for long.
  const turns = new FrameTurns<YwsLink>({
    perSenderMs: FRAME_MS_PER_SESSION,
    perTurnMs: FRAME_MS_PER_TURN,
    // A client replaying typing sends thousands of tiny frames at once: bounded by bytes, and by a count far above that.
    maxMessages: FRAME_BACKLOG_MESSAGES,
    maxBytes: 8 * config.MAX_MESSAGE_BYTES,
    run: deliver,
    overflow: queueFull,
  })

  const serve = (link: YwsLink) => {
    const { session } = link
    const registry = deps.registry()
    if (!registry.peek(session.docName) && registry.size >= config.MAX_LOADED_DOCUMENTS)
      return rejectSession(link, CloseCodes.TOO_MANY_DOCUMENTS, `${registry.size} documents loaded (MAX_LOADED_DOCUMENTS)`)
    deps
      .registry()
      .acquire(session.docName)
      .then(
        (doc) => {
          if (link.closed) return
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
          closeLogged(link.conn, session.docName, code, { err: err.message })
        },
      )
  }

  /** A session ends within a second of its token's `exp`: the client reconnects with a new token. */
  const expireAt = (link: YwsLink) => {
    const exp = link.session.identity.exp
    if (exp === null) return
    let timer: NodeJS.Timeout
    // Node fires a timer of more than 2^31-1 ms (24.8 days) at once: longer waits go in steps.
    const arm = () => {
      const left = exp * 1000 - Date.now()
      timer = setTimeout(
        () => (left > MAX_TIMER_MS ? arm() : rejectSession(link, CloseCodes.TOKEN_EXPIRED, `token expired at ${new Date(exp * 1000).toISOString()}`)),
        Math.max(0, Math.min(left, MAX_TIMER_MS)),
      )
      timer.unref()
    }
    arm()
    link.conn.onEnd(() => clearTimeout(timer))
  }

  app.ws<SocketData>('/*', {
    compression: uWS.DISABLED,
    // uWS drops (1006) frames over this length itself; up to it we close with MESSAGE_TOO_BIG and a reason.
    maxPayloadLength: config.MAX_MESSAGE_BYTES * 2,
    maxBackpressure: config.MAX_BACKPRESSURE_BYTES,
    // A consumer that falls this far behind is closed rather than silently skipped by publish;
    // its client reconnects and resyncs, so it never holds a gap.
    closeOnBackpressureLimit: 1, // a boolean in the binding, typed as number
    idleTimeout: config.IDLE_TIMEOUT_S,
    sendPingsAutomatically: true,

    upgrade: (res, req, context) => {
      // Everything needed from `req` is read now: it is gone after the first await.
      const url = req.getUrl()
      const query = new URLSearchParams(req.getQuery() ?? '')
      const token = tokenOf(query, req.getHeader('authorization'))
      const askedHz = query.has('awarenessHz') ? Number(query.get('awarenessHz')) : null
      const cookie = req.getHeader('cookie')
      const key = req.getHeader('sec-websocket-key')
      const protocol = req.getHeader('sec-websocket-protocol')
      const extensions = req.getHeader('sec-websocket-extensions')
      const remote = Buffer.from(res.getRemoteAddressAsText()).toString()
      const conn = new Connection(nextId++, remote, url, onSent, new ConnectionRates(rates))
      const origin = req.getHeader('origin')
      const host = req.getHeader('host')
      const name = docNameFromPath(url)
      // A refused upgrade still opens, then closes with its code: y-websocket stops on a 44xx, where
      // an HTTP error would only make it retry. No document is loaded before rights are decided.
      const upgrade = (data: SocketData) => res.upgrade<SocketData>(data, key, protocol, extensions, context)
      if (!name.ok) return upgrade({ conn, link: null, refusal: { code: CloseCodes.INVALID_DOCUMENT_NAME, detail: name.error } })
      const full = connectionsFull(remote)
      if (full) return upgrade({ conn, link: null, refusal: { code: CloseCodes.TOO_MANY_CONNECTIONS, detail: full } })
      if (!originAllowed(origin, host)) {
        metrics.authRefused.inc({ reason: 'origin' })
        return upgrade({
          conn,
          link: null,
          refusal: { code: CloseCodes.FORBIDDEN, detail: `pages from ${JSON.stringify(origin)} may not connect (ALLOWED_ORIGINS)` },
        })
      }
      if (deps.auth.open) return upgrade({ conn, link: withTier(new YwsLink(conn, name.name, FULL_RIGHTS, OPEN_IDENTITY, refused), askedHz), refusal: null })
      let aborted = false
      res.onAborted(() => {
        aborted = true
      })
      deps.auth.verify({ token, cookie, remote }).then(
        (identity) => {
          if (aborted) return
          const right = identity.rightTo(name.name)
          const data: SocketData = canRead(right)
            ? { conn, link: withTier(new YwsLink(conn, name.name, rightsOf(right === 'write', identity), identity, refused), askedHz), refusal: null }
            : { conn, link: null, refusal: { code: CloseCodes.FORBIDDEN, detail: `no right to ${JSON.stringify(name.name)}` } }
          if (!data.link) metrics.authRefused.inc({ reason: 'forbidden' })
          res.cork(() => upgrade(data))
        },
        (err: unknown) => {
          if (aborted) return
          const detail = err instanceof AuthError ? err.message : 'token check failed'
          const failure = err instanceof AuthError ? err.failure : 'unavailable'
          const code = failure === 'expired' ? CloseCodes.TOKEN_EXPIRED : failure === 'unavailable' ? CloseCodes.AUTH_UNAVAILABLE : CloseCodes.UNAUTHORIZED
          if (!(err instanceof AuthError)) logger.error({ err }, 'token check failed')
          metrics.authRefused.inc({ reason: failure })
          res.cork(() => upgrade({ conn, link: null, refusal: { code, detail } }))
        },
      )
    },

    open: (ws: Socket) => {
      const { conn, link, refusal } = ws.getUserData()
      conn.ws = ws
      connections.add(conn)
      perAddress.set(conn.remote, (perAddress.get(conn.remote) ?? 0) + 1)
      metrics.connections.inc()
      if (!link) return reject(conn, conn.path, refusal!.code, refusal!.detail)
      expireAt(link)
      serve(link)
    },

    message: (ws: Socket, message: ArrayBuffer, isBinary: boolean) => {
      const { conn, link } = ws.getUserData()
      if (conn.closed || !link) return
      metrics.bytesIn.inc(message.byteLength)
      if (message.byteLength > config.MAX_MESSAGE_BYTES) {
        return reject(conn, conn.docs, CloseCodes.MESSAGE_TOO_BIG, `${message.byteLength} bytes > ${config.MAX_MESSAGE_BYTES}`)
      }
      if (!isBinary) return reject(conn, conn.docs, CloseCodes.MALFORMED_MESSAGE, 'text frame; the protocol is binary')
      // The ArrayBuffer is only valid during this call: copy it once, then use views of the copy.
      // With this framing the frame is the session's message as it is.
      const frame = new Uint8Array(message.slice(0))
      // Rates before the frame is parsed or queued (the awareness rate once it is decoded: dispatch.ts).
      const over = conn.rates?.over(frame.length)
      if (over) return reject(conn, conn.docs, CloseCodes.RATE_LIMITED, `over ${RATE_NAMES[over]}`)
      if (link.held) {
        // Bounded in count and bytes: a client cannot park unbounded memory behind a slow load.
        link.heldBytes += frame.length
        if (link.held.length >= config.PRELOAD_QUEUE_MESSAGES || link.heldBytes > preloadBytes) {
          return rejectSession(link, CloseCodes.QUEUE_FULL, `${link.held.length + 1} messages, ${link.heldBytes} bytes`)
        }
        link.held.push(frame)
        return
      }
      turns.offer(link, frame)
    },

    drain: (ws: Socket) => {
      ws.getUserData().conn.pump()
    },

    close: (ws: Socket, code: number) => {
      const { conn } = ws.getUserData()
      conn.closed = true
      conn.ws = null
      if (connections.delete(conn)) {
        const left = (perAddress.get(conn.remote) ?? 1) - 1
        if (left > 0) perAddress.set(conn.remote, left)
        else perAddress.delete(conn.remote)
      }
      metrics.connections.dec()
      for (const session of conn.sessions.values()) if (session.doc) deps.registry().detach(session.doc, session)
      conn.ended()
      logger.debug({ conn: conn.id, doc: conn.docs, code }, 'connection closed')
    },
  })

  /** Closes every session whose identity matches (a revoked token): 4541, the client may reconnect with a new token. */
  const closeMatching = (matches: (identity: Identity) => boolean): number => {
    let closed = 0
    for (const conn of connections) {
      for (const session of conn.sessions.values()) {
        if (conn.closed || !matches(session.identity)) continue
        reject(conn, session.docName, CloseCodes.TOKEN_REVOKED, 'the token was revoked')
        closed++
      }
    }
    return closed
  }

  return { connections, closeMatching, stop: () => clearInterval(checking) }
}

/** The awareness tier of a new session: what it asked for (`?awarenessHz=`), capped by its token's claim. */
function withTier(link: YwsLink, askedHz: number | null): YwsLink {
  link.session.awarenessTier = grantedTier(askedHz, link.session.identity.awarenessHz)
  return link
}

/** A session's rights from its right to the document: read-only sessions show presence unless the token says not to. */
function rightsOf(write: boolean, identity: Identity): Rights {
  return write ? FULL_RIGHTS : { write: false, awareness: identity.viewerAwareness }
}

const RATE_NAMES = { messages: 'MAX_MESSAGES_PER_S', bytes: 'MAX_BYTES_PER_S', awareness: 'MAX_AWARENESS_PER_S' } as const

/** The longest delay a Node timer keeps (2^31-1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** Time the messages of one session, and of all sessions, may take in one turn of the event loop before the rest waits for the next. */
const FRAME_MS_PER_SESSION = 5
const FRAME_MS_PER_TURN = 20
/** Messages one session may have waiting for later turns (besides 8 × MAX_MESSAGE_BYTES of them). */
const FRAME_BACKLOG_MESSAGES = 100_000

/** How often the node's buffered bytes are summed (also right after large fan-outs). */
const OUTBOUND_CHECK_MS = 100
