/**
 * The uWS app: WebSocket upgrade at `/<document name>`, per-socket state, backpressure,
 * and local fan-out through uWS topics (one publish per batch, never a loop over sockets).
 */
import type { TemplatedApp, WebSocket } from 'uWebSockets.js'
import { CloseCodes } from '../../shared/protocol/close-codes.ts'
import { docNameFromPath } from '../../shared/protocol/doc-name.ts'
import type { Config } from '../config.ts'
import { DocumentQuarantined, type DocumentRegistry } from '../documents/registry.ts'
import type { Peer, Publisher } from '../documents/shared-doc.ts'
import { LogLimiter, type Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import { Connection } from './connection.ts'
import { dispatchFrame, rejectionOf } from './dispatch.ts'
import { FrameTurns } from './frame-turns.ts'
import { OutboundBudget } from './outbound.ts'
import { uWS } from './uws.ts'

type Socket = WebSocket<{ conn: Connection }>

export interface WsDeps {
  readonly config: Config
  readonly registry: () => DocumentRegistry
  readonly logger: Logger
  readonly metrics: Metrics
}

/** Where fanned-out bytes are reported (the outbound budget, once the sockets are mounted). */
export interface FanoutHook {
  sent: (bytes: number) => void
}

/** Publishes through uWS topics; counts bytes once per receiving subscriber. */
export function createPublisher(app: TemplatedApp, metrics: Metrics, hook: FanoutHook = { sent: () => {} }): Publisher {
  return {
    publish(topic, frame, except?: Peer) {
      const sender = except instanceof Connection && !except.closed ? except.ws : null
      const receivers = app.numSubscribers(topic) - (sender ? 1 : 0)
      if (receivers <= 0) return
      if (sender) sender.publish(topic, frame, true)
      else app.publish(topic, frame, true)
      metrics.messagesOut.inc(receivers)
      metrics.bytesOut.inc(frame.length * receivers)
      hook.sent(frame.length * receivers)
    },
  }
}

export function mountWebSocket(app: TemplatedApp, deps: WsDeps, fanout?: FanoutHook): { connections: Set<Connection>; stop(): void } {
  const { config, logger, metrics } = deps
  const connections = new Set<Connection>()
  const preloadBytes = 2 * config.MAX_MESSAGE_BYTES
  let nextId = 1
  const outbound = new OutboundBudget(connections, config.MAX_OUTBOUND_BYTES, (conn, bytes) => reject(conn, CloseCodes.TOO_SLOW, `${bytes} bytes buffered while the node holds more than ${config.MAX_OUTBOUND_BYTES}`))
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
  const closeLogged = (conn: Connection, code: (typeof CloseCodes)[keyof typeof CloseCodes], fields: Record<string, unknown>, detail?: string) => {
    const suppressed = limiter.allow(conn.remote)
    if (suppressed !== null) logger.warn({ conn: conn.id, doc: conn.docName, remote: conn.remote, ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, `closing connection: ${code.reason}`)
    conn.close(code, detail)
  }
  const reject = (conn: Connection, code: (typeof CloseCodes)[keyof typeof CloseCodes], detail: string) => {
    if (conn.closed) return
    metrics.protocolErrors.inc({ reason: code.name })
    closeLogged(conn, code, { code: code.code, detail }, detail)
  }
  const refused = (conn: Connection, refusal: Parameters<Connection['refuse']>[0]) => {
    const r = rejectionOf(refusal)
    reject(conn, r.code, r.detail)
  }

  /** Runs one frame against the document now. */
  const handle = (conn: Connection, frame: Uint8Array) => {
    if (conn.closed) return
    const rejection = dispatchFrame(conn, conn.doc!, frame, metrics)
    if (rejection) reject(conn, rejection.code, rejection.detail)
  }
  const queueFull = (conn: Connection) => reject(conn, CloseCodes.QUEUE_FULL, `too many messages or bytes waiting (${8 * config.MAX_MESSAGE_BYTES} bytes at most), or the node's waiting room is full`)
  /** One frame of a served connection: now, or after what holds the document (keeping the connection's order). */
  const deliver = (conn: Connection, frame: Uint8Array) => {
    if (conn.closed) return
    const writer = conn.doc!.writer
    if (!writer.mustWait(conn)) return handle(conn, frame)
    if (!writer.defer(conn, frame.length, () => handle(conn, frame))) queueFull(conn)
  }
  // No connection, and no burst of all of them, holds a turn of the event loop for long.
  const turns = new FrameTurns<Connection>({
    perConnectionMs: FRAME_MS_PER_CONNECTION,
    perTurnMs: FRAME_MS_PER_TURN,
    // A client replaying typing sends thousands of tiny frames at once: bounded by bytes, and by a count far above that.
    maxMessages: FRAME_BACKLOG_MESSAGES,
    maxBytes: 8 * config.MAX_MESSAGE_BYTES,
    run: deliver,
    overflow: queueFull,
  })
  const receive = (conn: Connection, frame: Uint8Array) => turns.offer(conn, frame)

  const serve = (conn: Connection) => {
    deps
      .registry()
      .acquire(conn.docName)
      .then(
        (doc) => {
          if (conn.closed) return
          deps.registry().attach(doc, conn)
          conn.doc = doc
          conn.ws!.subscribe(doc.topic)
          doc.greet(conn)
          const queued = conn.queue ?? []
          conn.queue = null
          for (const frame of queued) {
            if (conn.closed) return
            receive(conn, frame)
          }
        },
        (err: Error) => {
          if (conn.closed) return
          const code = err instanceof DocumentQuarantined ? CloseCodes.DOCUMENT_QUARANTINED : CloseCodes.DOCUMENT_UNAVAILABLE
          closeLogged(conn, code, { err: err.message })
        },
      )
  }

  app.ws<{ conn: Connection }>('/*', {
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
      const name = docNameFromPath(req.getUrl())
      const remote = Buffer.from(res.getRemoteAddressAsText()).toString()
      const conn = new Connection(nextId++, name.ok ? name.name : req.getUrl(), name.ok ? null : name.error, remote, onSent, refused)
      res.upgrade(
        { conn },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      )
    },

    open: (ws: Socket) => {
      const conn = ws.getUserData().conn
      conn.ws = ws
      connections.add(conn)
      metrics.connections.inc()
      if (conn.nameError) return reject(conn, CloseCodes.INVALID_DOCUMENT_NAME, conn.nameError)
      serve(conn)
    },

    message: (ws: Socket, message: ArrayBuffer, isBinary: boolean) => {
      const conn = ws.getUserData().conn
      if (conn.closed) return
      metrics.bytesIn.inc(message.byteLength)
      if (message.byteLength > config.MAX_MESSAGE_BYTES) {
        return reject(conn, CloseCodes.MESSAGE_TOO_BIG, `${message.byteLength} bytes > ${config.MAX_MESSAGE_BYTES}`)
      }
      if (!isBinary) return reject(conn, CloseCodes.MALFORMED_MESSAGE, 'text frame; the protocol is binary')
      // The ArrayBuffer is only valid during this call: copy it once, then use views of the copy.
      const frame = new Uint8Array(message.slice(0))
      if (conn.queue) {
        // Bounded in count and bytes: a client cannot park unbounded memory behind a slow load.
        conn.queueBytes += frame.length
        if (conn.queue.length >= config.PRELOAD_QUEUE_MESSAGES || conn.queueBytes > preloadBytes) {
          return reject(conn, CloseCodes.QUEUE_FULL, `${conn.queue.length + 1} messages, ${conn.queueBytes} bytes`)
        }
        conn.queue.push(frame)
        return
      }
      receive(conn, frame)
    },

    drain: (ws: Socket) => {
      ws.getUserData().conn.pump()
    },

    close: (ws: Socket, code: number) => {
      const conn = ws.getUserData().conn
      conn.closed = true
      conn.ws = null
      connections.delete(conn)
      metrics.connections.dec()
      if (conn.doc) deps.registry().detach(conn.doc, conn)
      logger.debug({ conn: conn.id, doc: conn.docName, code }, 'connection closed')
    },
  })

  return { connections, stop: () => clearInterval(checking) }
}

/** Time the frames of one connection, and of all connections, may take in one turn of the event loop before the rest waits for the next. */
const FRAME_MS_PER_CONNECTION = 5
const FRAME_MS_PER_TURN = 20
/** Frames one connection may have waiting for later turns (besides 8 × MAX_MESSAGE_BYTES of them). */
const FRAME_BACKLOG_MESSAGES = 100_000

/** How often the node's buffered bytes are summed (also right after large fan-outs). */
const OUTBOUND_CHECK_MS = 100
