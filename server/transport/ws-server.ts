/**
 * The WebSocket endpoint, one port for both framings, told apart by the upgrade's path:
 * - `/<document name>`: y-websocket. The upgrade names the socket's one session (its token
 *   checked there, in the query, header or cookie), and every frame is that session's message.
 * - `/` (the server's base URL, as HocuspocusProvider is configured): Hocuspocus. Every frame
 *   names its document; documents are opened by auth messages (hocuspocus-socket.ts).
 * What the upgrade checks for both: the node's and the address's socket bounds, the page origin.
 * What every frame meets: MAX_MESSAGE_BYTES, binary only, the socket's message and byte rates.
 * The rest lives elsewhere: sockets in connection.ts, links in y-websocket.ts and hocuspocus.ts,
 * what every session goes through in session-runner.ts, the node's outbound budget in
 * outbound.ts, fan-out in publisher.ts, message handling in dispatch.ts and hocuspocus-dispatch.ts.
 */
import type { TemplatedApp, WebSocket } from 'uWebSockets.js'
import { CloseCodes, type CloseCode } from '../../shared/protocol/close-codes.ts'
import { docNameFromPath } from '../../shared/protocol/doc-name.ts'
import type { Config } from '../config.ts'
import type { DurableAcks } from '../documents/durable-acks.ts'
import type { DocumentRegistry } from '../documents/registry.ts'
import { canRead, type Identity, OPEN_IDENTITY } from '../auth/claims.ts'
import { originCheck } from '../auth/origin.ts'
import { AuthError, type Authenticator, tokenOf } from '../auth/verifier.ts'
import { grantedTier } from '../../shared/protocol/awareness-tiers.ts'
import { FULL_RIGHTS, type Rights } from '../documents/session.ts'
import { ConnectionRates, type RateLimits } from '../limits/token-bucket.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import { Connection, SEQUENCE_PACE_BYTES } from './connection.ts'
import { SequenceGate } from './sequence-gate.ts'
import { dispatchMessage, type Rejection } from './dispatch.ts'
import { HpLink } from './hocuspocus.ts'
import { dispatchHocuspocus, type HpDispatchDeps } from './hocuspocus-dispatch.ts'
import { HocuspocusSocket, type HpSocketDeps } from './hocuspocus-socket.ts'
import { OutboundBudget } from './outbound.ts'
import { createSessionRunner } from './session-runner.ts'
import type { FanoutHook } from './publisher.ts'
import { uWS } from './uws.ts'
import { YwsLink } from './y-websocket.ts'

/**
 * A socket: of the y-websocket framing (its one session), of the Hocuspocus framing (its
 * documents), or refused at the upgrade (closed at once with `refusal`).
 */
interface SocketData {
  readonly conn: Connection
  readonly link: YwsLink | null
  readonly hp: HocuspocusSocket | null
  readonly refusal: Rejection | null
}
type Link = YwsLink | HpLink
type Socket = WebSocket<SocketData>

export interface WsDeps {
  readonly config: Config
  readonly registry: () => DocumentRegistry
  readonly logger: Logger
  readonly metrics: Metrics
  readonly auth: Authenticator
  /** Why no more documents may be loaded now (memory), or null. */
  readonly loadRefusal: () => string | null
  /** Where Hocuspocus acknowledgements wait for durability. */
  readonly acks: DurableAcks
  /** The embedding's hook for stateless messages (Hocuspocus clients). */
  readonly onStateless?: ((name: string, payload: string, from: Identity) => void) | undefined
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
  let nextId = 1
  // What large first syncs keep buffered in all sockets together: a join storm queues this much, not a copy per joiner.
  const sequences = new SequenceGate(Math.max(SEQUENCE_PACE_BYTES, Math.floor(config.MAX_OUTBOUND_BYTES / FIRST_SYNC_SHARE)))
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

  const runner = createSessionRunner<Link>({
    config,
    registry: deps.registry,
    logger,
    metrics,
    loadRefusal: deps.loadRefusal,
    dispatch: (link, message) =>
      link instanceof HpLink ? dispatchHocuspocus(link, message, hpDispatch) : dispatchMessage(link.session, link.session.doc!, message, metrics),
  })
  const { reject } = runner
  const hpDispatch: HpDispatchDeps = { metrics, acks: deps.acks, maxStatelessBytes: config.MAX_STATELESS_BYTES, onStateless: deps.onStateless }
  const hpDeps: HpSocketDeps = { config, metrics, auth: deps.auth, registry: deps.registry, runner, rates }

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
      const conn = new Connection(nextId++, remote, url, onSent, new ConnectionRates(rates), sequences)
      const origin = req.getHeader('origin')
      const host = req.getHeader('host')
      // A refused upgrade still opens, then closes with its code: y-websocket stops on a 44xx, where
      // an HTTP error would only make it retry. No document is loaded before rights are decided.
      const upgrade = (data: SocketData) => res.upgrade<SocketData>(data, key, protocol, extensions, context)
      const refuse = (code: CloseCode, detail: string) => upgrade({ conn, link: null, hp: null, refusal: { code, detail } })
      const full = connectionsFull(remote)
      if (full) return refuse(CloseCodes.TOO_MANY_CONNECTIONS, full)
      if (!originAllowed(origin, host)) {
        metrics.authRefused.inc({ reason: 'origin' })
        return refuse(CloseCodes.FORBIDDEN, `pages from ${JSON.stringify(origin)} may not connect (ALLOWED_ORIGINS)`)
      }
      // The root path carries the Hocuspocus framing (its provider is given the server's base URL):
      // every document is opened, and its token checked, by an auth message.
      if (isHocuspocusPath(url)) return upgrade({ conn, link: null, hp: new HocuspocusSocket(conn, { token, cookie, remote }, askedHz, hpDeps), refusal: null })
      const name = docNameFromPath(url)
      if (!name.ok) return refuse(CloseCodes.INVALID_DOCUMENT_NAME, name.error)
      const ywsLink = (rights: Rights, identity: Identity) => withTier(new YwsLink(conn, name.name, rights, identity, runner.refused), askedHz)
      if (deps.auth.open) return upgrade({ conn, link: ywsLink(FULL_RIGHTS, OPEN_IDENTITY), hp: null, refusal: null })
      let aborted = false
      res.onAborted(() => {
        aborted = true
      })
      deps.auth.verify({ token, cookie, remote }).then(
        (identity) => {
          if (aborted) return
          const right = identity.rightTo(name.name)
          if (!canRead(right)) metrics.authRefused.inc({ reason: 'forbidden' })
          res.cork(() =>
            canRead(right)
              ? upgrade({ conn, link: ywsLink(rightsOf(right === 'write', identity), identity), hp: null, refusal: null })
              : refuse(CloseCodes.FORBIDDEN, `no right to ${JSON.stringify(name.name)}`),
          )
        },
        (err: unknown) => {
          if (aborted) return
          const detail = err instanceof AuthError ? err.message : 'token check failed'
          const failure = err instanceof AuthError ? err.failure : 'unavailable'
          const code = failure === 'expired' ? CloseCodes.TOKEN_EXPIRED : failure === 'unavailable' ? CloseCodes.AUTH_UNAVAILABLE : CloseCodes.UNAUTHORIZED
          if (!(err instanceof AuthError)) logger.error({ err }, 'token check failed')
          metrics.authRefused.inc({ reason: failure })
          res.cork(() => refuse(code, detail))
        },
      )
    },

    open: (ws: Socket) => {
      const { conn, link, hp, refusal } = ws.getUserData()
      conn.ws = ws
      connections.add(conn)
      perAddress.set(conn.remote, (perAddress.get(conn.remote) ?? 0) + 1)
      metrics.connections.inc()
      if (hp) {
        if (fanout) fanout.hocuspocusSockets = (fanout.hocuspocusSockets ?? 0) + 1
        return hp.opened()
      }
      if (!link) return reject(conn, conn.path, refusal!.code, refusal!.detail)
      runner.expireAt(link)
      runner.serve(link)
    },

    message: (ws: Socket, message: ArrayBuffer, isBinary: boolean) => {
      const { conn, link, hp } = ws.getUserData()
      if (conn.closed || (!link && !hp)) return
      metrics.bytesIn.inc(message.byteLength)
      if (message.byteLength > config.MAX_MESSAGE_BYTES) {
        return reject(conn, conn.docs, CloseCodes.MESSAGE_TOO_BIG, `${message.byteLength} bytes > ${config.MAX_MESSAGE_BYTES}`)
      }
      if (!isBinary) return reject(conn, conn.docs, CloseCodes.MALFORMED_MESSAGE, 'text frame; the protocol is binary')
      // The ArrayBuffer is only valid during this call: copy it once, then use views of the copy.
      const frame = new Uint8Array(message.slice(0))
      // Rates before the frame is parsed or queued (the awareness rate once it is decoded: dispatch.ts).
      const over = conn.rates?.over(frame.length)
      if (over) return reject(conn, conn.docs, CloseCodes.RATE_LIMITED, `over ${RATE_NAMES[over]}`)
      if (hp) return hp.receive(frame)
      // With the y-websocket framing the frame is the session's message as it is.
      if (link!.held) runner.hold(link!, frame)
      else runner.offer(link!, frame)
    },

    drain: (ws: Socket) => {
      ws.getUserData().conn.pump()
    },

    close: (ws: Socket, code: number) => {
      const { conn, hp } = ws.getUserData()
      if (hp && fanout) fanout.hocuspocusSockets = (fanout.hocuspocusSockets ?? 1) - 1
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

/** Large first syncs may keep 1/8 of MAX_OUTBOUND_BYTES buffered at once (32 MiB by default). */
const FIRST_SYNC_SHARE = 8

/** The Hocuspocus framing's path: the server's root, where a HocuspocusProvider given the base URL connects. */
const isHocuspocusPath = (url: string) => url === '/' || url === ''

/** How often the node's buffered bytes are summed (also right after large fan-outs). */
const OUTBOUND_CHECK_MS = 100
