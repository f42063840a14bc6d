/**
 * A Site: one client's handle on one site document. It composes the connection (URLs,
 * tokens, reconnects, pending changes), the typed views and change events of the document,
 * the validated writes and the presence helpers; each lives in its own module and knows
 * nothing of the others. `connectSite` is the only way in.
 */
import { Awareness } from 'y-protocols/awareness'
import * as Y from 'yjs'
import type { Backoff } from '../../shared/backoff.ts'
import { checkDocName } from '../../shared/protocol/doc-name.ts'
import { Connection, type SiteStatus } from './connection.ts'
import { InvalidSiteOptions, SiteClosed, SiteTimeout } from './errors.ts'

export interface ConnectSiteOptions {
  /** One node's base URL (`ws://host:1234`) or several (cluster nodes, tried in turn). */
  readonly urls: string | readonly string[]
  /** The document, e.g. `site/demo`. */
  readonly doc: string
  /** A JWT for the server's access control (not needed on an open, loopback server). */
  readonly token?: string
  /** Called for a first token when `token` is absent, and for a new one when the server says the token expired or was revoked. */
  readonly getToken?: () => string | Promise<string>
  /** Ask for others' presence at most this often (the server grants 10 or 30 Hz, or full rate). */
  readonly awarenessHz?: number
  /** The WebSocket class: the global one by default (browsers); in Node 20 pass `ws`'s. */
  readonly WebSocket?: unknown
  /** Reconnect backoff (default 100 ms doubling to 5 s, jitter ±50 %). */
  readonly backoff?: Partial<Backoff>
  /** The document to sync into (default: a new one). */
  readonly ydoc?: Y.Doc
}

const DEFAULT_BACKOFF: Backoff = { baseMs: 100, maxMs: 5000, jitter: 0.5 }

export function connectSite(options: ConnectSiteOptions): Site {
  return new Site(options)
}

export class Site {
  readonly doc: Y.Doc
  readonly awareness: Awareness
  readonly name: string
  /** The origin of this client's own transactions (scope a Y.UndoManager to it). */
  readonly origin: object = { site: 'local' }
  private readonly connection: Connection

  constructor(o: ConnectSiteOptions) {
    const urls = typeof o.urls === 'string' ? [o.urls] : [...o.urls]
    if (urls.length === 0) throw new InvalidSiteOptions('urls: give at least one ws:// or wss:// URL')
    for (const url of urls) if (!/^wss?:\/\/\S+$/.test(url)) throw new InvalidSiteOptions(`urls: ${JSON.stringify(url)} is not a ws:// or wss:// URL`)
    const name = checkDocName(o.doc)
    if (!name.ok) throw new InvalidSiteOptions(`doc: ${name.error}`)
    const WebSocketClass = o.WebSocket ?? (globalThis as { WebSocket?: unknown }).WebSocket
    if (typeof WebSocketClass !== 'function')
      throw new InvalidSiteOptions("WebSocket: this runtime has none; in Node 20 pass `WebSocket` from the 'ws' package")
    this.name = o.doc
    this.doc = o.ydoc ?? new Y.Doc()
    this.awareness = new Awareness(this.doc)
    this.connection = new Connection({
      urls,
      doc: o.doc,
      ydoc: this.doc,
      awareness: this.awareness,
      WebSocket: WebSocketClass,
      backoff: { ...DEFAULT_BACKOFF, ...o.backoff },
      ...(o.token !== undefined ? { token: o.token } : {}),
      ...(o.getToken ? { getToken: o.getToken } : {}),
      ...(o.awarenessHz !== undefined ? { awarenessHz: o.awarenessHz } : {}),
    })
  }

  // ---- connection ----

  get status(): SiteStatus {
    return this.connection.status
  }

  /** Calls `listener` on every change of state, node, pending count or error; returns the unsubscribe. */
  onStatus(listener: (status: SiteStatus) => void): () => void {
    return this.connection.onStatus(listener)
  }

  get pendingChanges(): number {
    return this.connection.status.pendingChanges
  }

  /** Resolves once synced with a node (now, if it is); rejects with SiteRefused if the server refuses, SiteTimeout, or SiteClosed. */
  whenSynced({ timeoutMs = 30_000 } = {}): Promise<void> {
    return this.until('sync', (s) => s.state === 'synced', timeoutMs)
  }

  /** Resolves once the server holds every local change (pendingChanges 0); asks the server at once. */
  whenConfirmed({ timeoutMs = 30_000 } = {}): Promise<void> {
    this.connection.probeNow()
    return this.until('confirmation', (s) => s.pendingChanges === 0, timeoutMs)
  }

  /** Stops reconnecting, leaves the presence, closes the socket. Idempotent. */
  close(): void {
    this.connection.close()
    this.awareness.destroy()
  }

  private until(what: string, done: (s: SiteStatus) => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (s: SiteStatus): boolean => {
        if (done(s)) resolve()
        else if (s.state === 'refused') reject(s.error)
        else if (s.state === 'closed') reject(new SiteClosed(what))
        else return false
        return true
      }
      if (check(this.status)) return
      const timer = setTimeout(() => {
        off()
        reject(new SiteTimeout(what, timeoutMs))
      }, timeoutMs)
      const off = this.onStatus((s) => {
        if (!check(s)) return
        clearTimeout(timer)
        off()
      })
    })
  }
}
