/**
 * A socket of the Hocuspocus framing (upgraded at `/`): many documents, each opened by its own
 * auth message and living as its own session. This file turns frames into (session, message):
 *
 * - An auth message opens a document: its token (or, when empty, the upgrade's `?token=`,
 *   `Authorization` header or cookie) is checked as a y-websocket upgrade's is, then the
 *   client is told `authenticated` with its scope (`readonly` without the write right) or
 *   `permission denied` with the reason — the socket's other documents are untouched.
 *   Messages for a document whose check is in flight wait (bounded), as Hocuspocus queues them.
 * - Frames for a document with no session on this socket are dropped and counted: the client
 *   sent no auth for it, or its session ended (the provider goes on sending until it reconnects).
 * - Frames of a document that come after its client closed it, while that session still runs
 *   what was sent before the close (its token check, its load, its turn), wait and are read
 *   again once it has left: a provider re-created at once (closed, then opened again) gets a
 *   session of its own, as Hocuspocus replays its queue, instead of the old one's answers.
 * - A session ends alone with a close message carrying the reason (the provider's onClose),
 *   unless its code says "retry": the provider resyncs a document only when its socket
 *   reconnects, so those close the socket with the code.
 * - Bounded: MAX_DOCUMENTS_PER_CONNECTION sessions (and checks in flight) per socket, and a socket
 *   that holds no document for HOCUSPOCUS_AUTH_TIMEOUT_S is closed with 4408, as Hocuspocus does.
 */
import { CloseCodes, type CloseCode } from '../../shared/protocol/close-codes.ts'
import type { Refusal } from '../admission/admission.ts'
import { checkDocName } from '../../shared/protocol/doc-name.ts'
import {
  decodeAuthToken,
  decodeHocuspocusFrame,
  documentOfKey,
  encodeAuthenticated,
  encodeHocuspocusClose,
  encodePermissionDenied,
  type HocuspocusFrame,
  HocuspocusFrameError,
  HocuspocusType,
  isHocuspocusPong,
} from '../../shared/protocol/hocuspocus.ts'
import { grantedTier } from '../../shared/protocol/awareness-tiers.ts'
import { canRead, type Identity, OPEN_IDENTITY } from '../auth/claims.ts'
import { AuthError, type Authenticator, type AuthRequest } from '../auth/verifier.ts'
import type { Config } from '../config.ts'
import type { DocumentRegistry } from '../documents/registry.ts'
import { FULL_RIGHTS, type Rights } from '../documents/session.ts'
import { ConnectionRates, type RateLimits } from '../limits/token-bucket.ts'
import type { Metrics } from '../metrics.ts'
import type { Connection } from './connection.ts'
import { HpLink, type HpLinkOwner } from './hocuspocus.ts'
import type { SessionRunner } from './session-runner.ts'

export interface HpSocketDeps {
  readonly config: Config
  readonly metrics: Metrics
  readonly auth: Authenticator
  readonly registry: () => DocumentRegistry
  readonly runner: SessionRunner<HpLink>
  /** Each session's awareness and stateless budget. */
  readonly rates: RateLimits
}

/** Messages of a document whose token is being checked. */
interface Pending {
  readonly held: Uint8Array[]
  heldBytes: number
}

export class HocuspocusSocket implements HpLinkOwner {
  readonly links = new Map<string, HpLink>()
  private readonly pending = new Map<string, Pending>()
  /** Whole frames of a document received after its close, while its session finishes (see the header). */
  private readonly reopening = new Map<string, Pending>()
  private idle: NodeJS.Timeout | null = null

  constructor(
    readonly conn: Connection,
    /** What the upgrade offered (a token in the query or header, the cookie), for auth messages with an empty token. */
    private readonly upgrade: AuthRequest,
    /** `?awarenessHz=` of the upgrade, for every session of the socket. */
    private readonly askedHz: number | null,
    private readonly deps: HpSocketDeps,
  ) {
    conn.onEnd(() => {
      this.stopIdle()
      for (const link of this.links.values()) link.finished()
    })
  }

  /** The socket opened: it has HOCUSPOCUS_AUTH_TIMEOUT_S to open a document. */
  opened(): void {
    this.armIdle()
  }

  receive(frame: Uint8Array): void {
    const { runner, metrics } = this.deps
    if (isHocuspocusPong(frame)) return
    let f: HocuspocusFrame
    try {
      f = decodeHocuspocusFrame(frame)
    } catch (err) {
      return runner.reject(this.conn, this.conn.docs, CloseCodes.MALFORMED_MESSAGE, (err as Error).message)
    }
    const reopening = this.reopening.get(f.key)
    if (reopening) return this.holdReopening(f.key, reopening, frame)
    const link = this.links.get(f.key)
    if (link) {
      this.closing(f)
      if (link.held) runner.hold(link, f.message)
      else runner.offer(link, f.message)
      return
    }
    const pending = this.pending.get(f.key)
    if (pending) {
      if (f.type === HocuspocusType.Auth) return
      this.closing(f)
      return this.holdPending(f.key, pending, f.message)
    }
    if (f.type !== HocuspocusType.Auth) {
      metrics.hocuspocusIgnored.inc({ reason: 'not_authenticated' })
      return
    }
    this.authenticate(f)
  }

  private holdPending(key: string, pending: Pending, message: Uint8Array): void {
    if (!this.fits(pending, message)) {
      this.pending.delete(key)
      // 4508 says retry: the socket closes, as the header says, so the provider resyncs when it reconnects.
      return this.deps.runner.reject(this.conn, key, CloseCodes.QUEUE_FULL, `${pending.held.length + 1} messages while the token is checked`)
    }
    pending.held.push(message)
  }

  /** Whether one more message fits a bounded queue (counted in it either way). */
  /** Whether one more message fits its queue, and all the socket's waiting queues together (256 documents must not mean 256 × the bound). */
  private fits(queue: Pending, message: Uint8Array): boolean {
    const { config } = this.deps
    queue.heldBytes += message.length
    let socketBytes = 0
    for (const q of this.pending.values()) socketBytes += q.heldBytes
    for (const q of this.reopening.values()) socketBytes += q.heldBytes
    const max = 2 * config.MAX_MESSAGE_BYTES
    return queue.held.length < config.PRELOAD_QUEUE_MESSAGES && queue.heldBytes <= max && socketBytes <= max
  }

  /** A close for a live session: what follows for its document waits until that session has left. */
  private closing(f: HocuspocusFrame): void {
    if (f.type === HocuspocusType.Close) this.reopening.set(f.key, { held: [], heldBytes: 0 })
  }

  private holdReopening(key: string, reopening: Pending, frame: Uint8Array): void {
    if (!this.fits(reopening, frame))
      return this.deps.runner.reject(this.conn, key, CloseCodes.QUEUE_FULL, `${reopening.held.length + 1} messages while the document closes`)
    reopening.held.push(frame)
  }

  /** The session of `key` is over: what its client sent after closing it is read now, as if it came now. */
  private reopen(key: string): void {
    const reopening = this.reopening.get(key)
    if (!reopening) return
    this.reopening.delete(key)
    for (const frame of reopening.held) {
      if (this.conn.closed) return
      this.receive(frame)
    }
  }

  private authenticate(f: HocuspocusFrame): void {
    const { config, auth } = this.deps
    let token: string
    try {
      token = decodeAuthToken(f.body)
    } catch (err) {
      if (!(err instanceof HocuspocusFrameError)) throw err
      return this.deps.runner.reject(this.conn, f.key, CloseCodes.MALFORMED_MESSAGE, err.message)
    }
    const name = checkDocName(documentOfKey(f.key))
    if (!name.ok) return this.deny(f.key, 'invalid_name', `invalid document name: ${name.error}`)
    if (name.name !== f.key)
      return this.deny(f.key, 'invalid_name', 'session-aware routing keys (name and session id) are not supported: leave sessionAwareness off')
    const open = this.links.size + this.pending.size
    if (open >= config.MAX_DOCUMENTS_PER_CONNECTION)
      return this.deny(f.key, 'too_many_documents', `${open} documents open on this socket (MAX_DOCUMENTS_PER_CONNECTION)`)
    const pending: Pending = { held: [], heldBytes: 0 }
    this.pending.set(f.key, pending)
    this.stopIdle()
    const request: AuthRequest = token ? { ...this.upgrade, token } : this.upgrade
    const verified = auth.open ? null : auth.verify(request)
    if (!verified) return this.admit(f.key, pending, null)
    verified.then(
      (identity) => this.admit(f.key, pending, identity),
      (err: unknown) => this.refuse(f.key, pending, err),
    )
  }

  /** The token checked out (null: open mode): the document opens with its rights, or is denied. */
  private admit(key: string, pending: Pending, identity: Identity | null): void {
    if (this.conn.closed || this.pending.get(key) !== pending) return
    this.pending.delete(key)
    let rights: Rights = FULL_RIGHTS
    if (identity) {
      const right = identity.rightTo(key)
      if (!canRead(right)) {
        this.deps.metrics.authRefused.inc({ reason: 'forbidden' })
        this.deny(key, null, `forbidden: no right to ${JSON.stringify(key)}`)
        return this.reopen(key)
      }
      rights = right === 'write' ? FULL_RIGHTS : { write: false, awareness: identity.viewerAwareness }
    }
    const { runner } = this.deps
    const link = new HpLink(this.conn, key, rights, identity ?? OPEN_IDENTITY, new ConnectionRates(this.deps.rates), this)
    link.session.awarenessTier = grantedTier(this.askedHz, link.session.identity.awarenessHz)
    link.held = pending.held
    link.heldBytes = pending.heldBytes
    this.links.set(key, link)
    link.sendFrame(encodeAuthenticated(key, rights.write ? 'read-write' : 'readonly'))
    runner.expireAt(link)
    runner.serve(link)
  }

  private refuse(key: string, pending: Pending, err: unknown): void {
    if (this.conn.closed || this.pending.get(key) !== pending) return
    this.pending.delete(key)
    const failure = err instanceof AuthError ? err.failure : 'unavailable'
    this.deps.metrics.authRefused.inc({ reason: failure })
    // Retryable: the provider fetches a new token (expired) or tries again (key set down) only when its socket reconnects.
    if (failure === 'expired') return this.deps.runner.reject(this.conn, key, CloseCodes.TOKEN_EXPIRED, (err as Error).message)
    if (failure === 'unavailable') return this.deps.runner.reject(this.conn, key, CloseCodes.AUTH_UNAVAILABLE, 'token check failed')
    // The verifier's hint for a missing token names the y-websocket ways; a Hocuspocus user sets the provider's option.
    const detail = failure === 'missing' ? 'no token (give the provider its `token` option)' : (err as AuthError).detail
    this.deny(key, null, `unauthorized: ${detail}`)
    this.reopen(key)
  }

  /** Permission denied for one document (the provider's onAuthenticationFailed gets `reason`). */
  private deny(key: string, counted: string | null, reason: string): void {
    if (counted) this.deps.metrics.hocuspocusIgnored.inc({ reason: counted })
    this.conn.send(encodePermissionDenied(key, reason))
    this.armIdle()
  }

  refused(link: HpLink, refusal: Refusal): void {
    this.deps.runner.refused(link, refusal)
  }

  /** Ends one session; see the header for when the socket ends instead. */
  end(link: HpLink, code: CloseCode, detail: string): void {
    if (link.closed) return
    if (code.retry) return this.conn.close(code, detail)
    this.detach(link)
    this.closeDocument(link.key, code, detail)
  }

  /** The client closed the document: it leaves quietly. */
  left(link: HpLink): void {
    if (!link.closed) this.detach(link)
  }

  private detach(link: HpLink): void {
    const doc = link.session.doc
    if (doc) this.deps.registry().detach(doc, link.session)
    link.ended = true
    link.finished()
    // What was queued for it (a large first sync) is not for whoever opens the document next.
    this.conn.dropSequence(link)
    link.backlog.clear()
    link.backlogBytes = 0
    this.links.delete(link.key)
    this.conn.sessions.delete(link.key)
    this.armIdle()
    this.reopen(link.key)
  }

  private closeDocument(key: string, code: CloseCode, detail: string): void {
    this.conn.send(encodeHocuspocusClose(key, `${code.code} ${code.reason}: ${detail}`))
    this.armIdle()
  }

  private armIdle(): void {
    if (this.idle || this.links.size + this.pending.size > 0 || this.conn.closed) return
    const seconds = this.deps.config.HOCUSPOCUS_AUTH_TIMEOUT_S
    this.idle = setTimeout(() => {
      this.idle = null
      if (this.links.size + this.pending.size === 0)
        this.deps.runner.reject(this.conn, this.conn.path, CloseCodes.CONNECTION_TIMEOUT, `no document opened for ${seconds} s (HOCUSPOCUS_AUTH_TIMEOUT_S)`)
    }, seconds * 1000)
    this.idle.unref()
  }

  private stopIdle(): void {
    if (this.idle) clearTimeout(this.idle)
    this.idle = null
  }
}
