/**
 * One client's connection to a site: y-websocket's WebsocketProvider speaking the standard
 * protocol, with Atrium's policy on top of it.
 *
 * - Several URLs (cluster nodes): after a failure the next one is tried, with jittered
 *   exponential backoff (shared/backoff.ts), so clients that lost the same node do not come
 *   back in lockstep. The provider's own reconnect loop is turned off: `shouldReconnect`
 *   answers false, so every server close comes here, and a close of the provider's own
 *   watchdog (30 s of silence) is taken over too. A node that has not synced within
 *   `connectTimeoutMs` of the socket being asked for (hung, or black-holed: a TCP connect
 *   can hang for minutes) counts as failed.
 * - Close codes say what to do (shared/protocol/close-codes.ts): 4400–4499 are refusals
 *   that a retry cannot fix and end in `refused` with a SiteRefused (never a silent loop);
 *   an expired or revoked token (4540, 4541) asks `getToken()` for a new one first (up to
 *   three in a row, and never the same token twice, else it is a refusal too); anything
 *   else is retried (1000 included: Atrium never sends it, a proxy closing idle sockets does).
 * - Pending changes: every local update is tracked until the server's own state shows it
 *   (pending.ts). While some are pending and the socket is synced, the connection asks the
 *   server with a sync step 1 whose state vector is lowered to what the server is known to
 *   hold; the server answers with what it has beyond that, which confirms. The asks back off
 *   (100 ms doubling to 2 s) while changes keep coming, so a busy editor costs the server
 *   one small answer every two seconds.
 *
 * - Presence: only this client's own state is sent (the provider would echo everyone's).
 *
 * Browser-safe: the WebSocket class is injected (`ws` in Node 20, the global in browsers).
 */
import { WebsocketProvider } from 'y-websocket'
import type { Awareness } from 'y-protocols/awareness'
import * as Y from 'yjs'
import { backoffMs, type Backoff } from '../../shared/backoff.ts'
import { CloseCodes } from '../../shared/protocol/close-codes.ts'
import { decodeMessage, encodeSyncStep1, MessageType } from '../../shared/protocol/messages.ts'
import { SiteRefused } from './errors.ts'
import { PendingTracker } from './pending.ts'

export type SiteState = 'connecting' | 'synced' | 'offline' | 'refused' | 'closed'

export interface SiteStatus {
  readonly state: SiteState
  /** The node connected to, or last tried. */
  readonly url: string
  /** Local changes the server has not confirmed. */
  readonly pendingChanges: number
  /** Why the server refused (state `refused`). */
  readonly error: SiteRefused | null
  /** Failed attempts since the last sync. */
  readonly attempt: number
}

export interface ConnectionOptions {
  readonly urls: readonly string[]
  readonly doc: string
  readonly ydoc: Y.Doc
  readonly awareness?: Awareness
  readonly token?: string
  readonly getToken?: () => string | Promise<string>
  readonly awarenessHz?: number
  // biome-ignore lint/suspicious/noExplicitAny: a browser's WebSocket or the `ws` package's: both fit the provider
  readonly WebSocket: any
  readonly backoff: Backoff
  /** A node that has not synced this long after the socket was asked for is given up on (a hung or black-holed node). */
  readonly connectTimeoutMs: number
}

interface AwarenessChanges {
  readonly added: number[]
  readonly updated: number[]
  readonly removed: number[]
}

const TOKEN_CODES = new Set([CloseCodes.TOKEN_EXPIRED.code, CloseCodes.TOKEN_REVOKED.code])
const isRefusal = (code: number) => code >= 4400 && code < 4500
const PROBE_FIRST_MS = 100
const PROBE_MAX_MS = 2000
/** New tokens in a row the server may call expired or revoked before the site gives up (a token source that hands out stale ones). */
const MAX_TOKEN_REFRESHES = 3

export class Connection {
  readonly provider: WebsocketProvider
  private readonly pending = new PendingTracker()
  private readonly listeners = new Set<(s: SiteStatus) => void>()
  private current: SiteStatus
  private urlIndex = 0
  private currentToken: string | undefined
  private tokenStale = false
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private connectTimer: ReturnType<typeof setTimeout> | null = null
  /** Token closes since the last sync. */
  private tokenRefreshes = 0
  private probeTimer: ReturnType<typeof setTimeout> | null = null
  private probeDelay = PROBE_FIRST_MS
  private closed = false

  constructor(private readonly o: ConnectionOptions) {
    this.currentToken = o.token
    this.current = { state: 'connecting', url: o.urls[0]!, pendingChanges: 0, error: null, attempt: 0 }
    this.provider = new WebsocketProvider(o.urls[0]!, o.doc, o.ydoc, {
      connect: false,
      WebSocketPolyfill: o.WebSocket,
      // Another tab's updates through a BroadcastChannel would look like the server's and confirm nothing real.
      disableBc: true,
      shouldReconnect: () => false,
      // Its reconnect timer always finds shouldConnect false (reconnects are ours): let it fire at
      // once rather than keep a Node process alive for seconds after close().
      maxBackoffTime: 0,
      params: this.params(),
      ...(o.awareness ? { awareness: o.awareness } : {}),
    })
    // y-websocket 3.1 sends every awareness change it sees, other clients' included (each
    // client echoes what the server relays: n² messages, yjs/yjs#732), which would run a
    // client watching busy presence into the server's awareness quota. Send only our own.
    const awareness = this.provider.awareness
    awareness.off('update', this.provider._awarenessUpdateHandler)
    awareness.on('update', this.onAwarenessUpdate)
    const sync = this.provider.messageHandlers[MessageType.Sync]!
    this.provider.messageHandlers[MessageType.Sync] = (encoder, decoder, provider, emitSynced, type) => {
      this.observe(decoder.arr)
      sync(encoder, decoder, provider, emitSynced, type)
    }
    this.provider.on('sync', this.onSync)
    this.provider.on('closed', this.onClosed)
    this.provider.on('connection-close', this.onConnectionClose)
    o.ydoc.on('update', this.onLocalUpdate)
    void this.open()
  }

  /** The token the next connection presents. */
  get token(): string | undefined {
    return this.currentToken
  }

  get status(): SiteStatus {
    return this.current
  }

  onStatus(listener: (s: SiteStatus) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Asks the server now (when synced) rather than at the next backed-off probe. */
  probeNow(): void {
    this.probeDelay = PROBE_FIRST_MS
    this.clearProbe()
    this.probe()
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.clearConnectTimer()
    this.clearProbe()
    this.o.ydoc.off('update', this.onLocalUpdate)
    this.provider.off('sync', this.onSync)
    this.provider.off('closed', this.onClosed)
    this.provider.off('connection-close', this.onConnectionClose)
    this.provider.awareness.off('update', this.onAwarenessUpdate)
    // Leaves the awareness (others see this client go at once) and closes the socket.
    this.provider.destroy()
    this.set({ state: 'closed' })
  }

  private params(): Record<string, string> {
    return {
      ...(this.currentToken !== undefined ? { token: this.currentToken } : {}),
      ...(this.o.awarenessHz !== undefined ? { awarenessHz: String(this.o.awarenessHz) } : {}),
    }
  }

  private async open(): Promise<void> {
    this.retryTimer = null
    if (this.closed) return
    if (this.o.getToken && (this.currentToken === undefined || this.tokenStale)) {
      try {
        const stale = this.tokenStale ? this.currentToken : undefined
        this.currentToken = await this.o.getToken()
        this.tokenStale = false
        if (this.closed) return
        if (stale !== undefined && this.currentToken === stale) {
          // The source handed back the token the server just refused: asking again would loop.
          return this.set({
            state: 'refused',
            error: new SiteRefused(CloseCodes.TOKEN_EXPIRED.code, 'getToken() returned the refused token again', this.current.url),
          })
        }
      } catch {
        // The token source is down: as good as an unreachable node, retried with backoff.
        if (!this.closed) this.retry()
        return
      }
      if (this.closed) return
    }
    const url = this.o.urls[this.urlIndex]!
    this.provider.serverUrl = url.replace(/\/+$/, '')
    this.provider.params = this.params()
    this.pending.reset()
    this.set({ state: 'connecting', url })
    this.provider.connect()
    this.connectTimer = setTimeout(this.onConnectTimeout, this.o.connectTimeoutMs)
  }

  private readonly onConnectTimeout = (): void => {
    this.connectTimer = null
    if (this.closed || this.current.state === 'synced') return
    this.provider.disconnect() // its close event is ours (shouldConnect is false by then): no double retry
    this.retry()
  }

  /** The provider's own watchdog closed a silent socket (no close event from the server): a hung node, rotated like any failure. */
  private readonly onConnectionClose = (event: CloseEvent | null): void => {
    if (event !== null || this.closed || !this.provider.shouldConnect) return
    this.provider.shouldConnect = false // the provider's own reconnect (same node, same token) becomes a no-op
    this.clearProbe()
    this.retry()
  }

  private clearConnectTimer(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer)
    this.connectTimer = null
  }

  private retry(): void {
    this.clearConnectTimer()
    const attempt = this.current.attempt + 1
    this.set({ state: 'offline', attempt })
    this.urlIndex = (this.urlIndex + 1) % this.o.urls.length
    this.retryTimer = setTimeout(() => void this.open(), backoffMs(attempt - 1, this.o.backoff))
  }

  private readonly onClosed = ({ code, reason }: { code: number; reason: string }): void => {
    if (this.closed) return
    this.clearProbe()
    if (TOKEN_CODES.has(code) && this.o.getToken && ++this.tokenRefreshes <= MAX_TOKEN_REFRESHES) {
      this.tokenStale = true
      // Same node, a fresh token; backoff still applies if the new token fails the same way.
      this.urlIndex = (this.urlIndex + this.o.urls.length - 1) % this.o.urls.length
      return this.retry()
    }
    if (isRefusal(code) || TOKEN_CODES.has(code)) {
      return this.set({ state: 'refused', error: new SiteRefused(code, reason, this.current.url) })
    }
    this.retry()
  }

  private readonly onSync = (synced: boolean): void => {
    if (!synced || this.closed) return
    this.clearConnectTimer()
    this.tokenRefreshes = 0
    this.set({ state: 'synced', attempt: 0, error: null })
    this.schedule()
  }

  private readonly onAwarenessUpdate = ({ added, updated, removed }: AwarenessChanges, origin: unknown): void => {
    const own = this.provider.awareness.clientID
    if (added.includes(own) || updated.includes(own) || removed.includes(own))
      this.provider._awarenessUpdateHandler({ added: [], updated: [own], removed: [] }, origin)
  }

  private readonly onLocalUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this.provider) return
    this.pending.local(update)
    this.set({ pendingChanges: this.pending.count })
    this.schedule()
  }

  /** Feeds what the server sent to the tracker, before the provider applies it. */
  private observe(frame: Uint8Array): void {
    let msg: ReturnType<typeof decodeMessage>
    try {
      msg = decodeMessage(frame)
    } catch {
      return // the provider reports a garbled frame its own way
    }
    let changed = false
    if (msg.type === 'sync-step1') changed = this.pending.serverStateVector(msg.stateVector)
    // Deletes are read from updates too (only while some wait for them): a large answer comes as update chunks.
    else if (msg.type === 'update') changed = this.pending.serverUpdate(msg.update, true)
    else if (msg.type === 'sync-step2') changed = this.pending.serverUpdate(msg.update, true)
    if (changed) {
      this.set({ pendingChanges: this.pending.count })
      if (this.pending.count === 0) this.probeDelay = PROBE_FIRST_MS
    }
  }

  private schedule(): void {
    if (this.probeTimer || this.pending.count === 0 || this.current.state !== 'synced') return
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null
      this.probe()
    }, this.probeDelay)
  }

  private probe(): void {
    const ws = this.provider.ws
    if (this.pending.count === 0 || this.current.state !== 'synced' || !ws || ws.readyState !== 1) return
    const sv = this.pending.probeStateVector(Y.decodeStateVector(Y.encodeStateVector(this.o.ydoc)))
    ws.send(encodeSyncStep1(Y.encodeStateVector(sv)) as Uint8Array<ArrayBuffer>)
    this.probeDelay = Math.min(PROBE_MAX_MS, this.probeDelay * 2)
    this.schedule()
  }

  private clearProbe(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer)
    this.probeTimer = null
  }

  private set(patch: Partial<SiteStatus>): void {
    const next = { ...this.current, ...patch }
    if (
      next.state === this.current.state &&
      next.url === this.current.url &&
      next.pendingChanges === this.current.pendingChanges &&
      next.error === this.current.error &&
      next.attempt === this.current.attempt
    )
      return
    this.current = next
    for (const listener of [...this.listeners]) listener(next)
  }
}
