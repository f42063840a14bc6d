/**
 * A Site: one client's handle on one site document. It composes the connection (URLs,
 * tokens, reconnects, pending changes), the typed views and change events of the document,
 * the validated writes and the presence helpers; each lives in its own module and knows
 * nothing of the others. `connectSite` is the only way in.
 */
import { Awareness } from 'y-protocols/awareness'
import * as Y from 'yjs'
import type { Backoff } from '../../shared/backoff.ts'
import { grantedTier } from '../../shared/protocol/awareness-tiers.ts'
import { checkDocName } from '../../shared/protocol/doc-name.ts'
import type { Hierarchy } from '../../shared/schema/hierarchy.ts'
import type { Anchor, BuildingObject, Human, ObjectType } from '../../shared/schema/domain.ts'
import { batch, type Writer, writerFor } from './batch.ts'
import { Connection, type SiteStatus } from './connection.ts'
import { InvalidSiteOptions, SiteClosed, SiteTimeout } from './errors.ts'
import { type SiteEventMap, SiteEvents } from './events.ts'
import { Presence } from './presence.ts'
import { awarenessClaimHz } from './token.ts'
import { type AnchorEntry, type HumanData, type HumanEntry, type ObjectEntry, SiteView, type TreeNode } from './views.ts'

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
  /** A node not synced this long after connecting is given up on and the next one tried (default 10 s). */
  readonly connectTimeoutMs?: number
  /** The document to sync into (default: a new one). */
  readonly ydoc?: Y.Doc
}

const DEFAULT_BACKOFF: Backoff = { baseMs: 100, maxMs: 5000, jitter: 0.5 }

export function connectSite(options: ConnectSiteOptions): Site {
  return new Site(options)
}

/**
 * Reads are typed, sanitized plain data (views.ts); writes are validated by shared/schema
 * before anything is applied and go out as one update each (batch.ts); events carry ids and
 * old/new values (events.ts); presence is presence.ts over the site's awareness.
 */
export class Site implements Writer {
  readonly doc: Y.Doc
  readonly awareness: Awareness
  readonly presence: Presence
  readonly name: string
  /** The origin of this client's own transactions (scope a Y.UndoManager to it). */
  readonly origin: object = { site: 'local' }
  private readonly awarenessHz: number | null
  private readonly connection: Connection
  private readonly view: SiteView
  private readonly events: SiteEvents
  private readonly writer: Writer

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
    this.presence = new Presence(this.awareness)
    this.awarenessHz = o.awarenessHz ?? null
    this.view = new SiteView(this.doc)
    this.events = new SiteEvents(this.doc, (origin) => origin === this.origin)
    this.writer = writerFor(this.doc, this.origin)
    this.connection = new Connection({
      urls,
      doc: o.doc,
      ydoc: this.doc,
      awareness: this.awareness,
      WebSocket: WebSocketClass,
      backoff: { ...DEFAULT_BACKOFF, ...o.backoff },
      connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
      ...(o.token !== undefined ? { token: o.token } : {}),
      ...(o.getToken ? { getToken: o.getToken } : {}),
      ...(o.awarenessHz !== undefined ? { awarenessHz: o.awarenessHz } : {}),
    })
  }

  // ---- connection ----

  /** How often the server sends this client others' presence: 10 or 30 (Hz) as asked and as the token allows, or null: every change. */
  get awarenessTier(): number | null {
    return grantedTier(this.awarenessHz, awarenessClaimHz(this.connection.token))
  }

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
    this.events.destroy()
    this.view.destroy()
  }

  // ---- typed reads (sanitized plain data; lists sorted by id) ----

  tree(): readonly TreeNode[] {
    return this.view.tree()
  }
  children(parent: string | null): readonly ObjectEntry[] {
    return this.view.children(parent)
  }
  path(id: string): readonly ObjectEntry[] {
    return this.view.path(id)
  }
  object(id: string): Readonly<BuildingObject> | null {
    return this.view.object(id)
  }
  objects(type?: ObjectType): readonly ObjectEntry[] {
    return this.view.objects(type)
  }
  hierarchy(): Hierarchy {
    return this.view.hierarchy()
  }
  anchors(): readonly AnchorEntry[] {
    return this.view.anchors()
  }
  anchor(id: string): Readonly<Anchor> | null {
    return this.view.anchor(id)
  }
  humans(): readonly HumanEntry[] {
    return this.view.humans()
  }
  human(id: string): HumanData | null {
    return this.view.human(id)
  }

  // ---- typed change events ----

  /** Calls `listener` once per transaction that changed what `event` covers; returns the unsubscribe. */
  on<K extends keyof SiteEventMap>(event: K, listener: (e: SiteEventMap[K]) => void): () => void {
    return this.events.on(event, listener)
  }

  // ---- validated writes (each one update; a refused one throws SchemaError and sends nothing) ----

  /** Several writes as one update: all validated first, then applied together, or none. */
  batch<T>(fill: (w: Writer) => T): T {
    return batch(this.doc, this.origin, fill)
  }
  createObject(id: string, object: BuildingObject): void {
    this.writer.createObject(id, object)
  }
  updateObject(id: string, patch: Record<string, unknown>): void {
    this.writer.updateObject(id, patch)
  }
  moveObject(id: string, parentId: string | null): void {
    this.writer.moveObject(id, parentId)
  }
  deleteObject(id: string, options?: { cascade?: boolean }): number {
    return this.writer.deleteObject(id, options)
  }
  setAnchor(id: string, anchor: Anchor): void {
    this.writer.setAnchor(id, anchor)
  }
  deleteAnchor(id: string): void {
    this.writer.deleteAnchor(id)
  }
  createHuman(id: string, human: Human, transcript?: string): void {
    this.writer.createHuman(id, human, transcript)
  }
  updateHuman(id: string, patch: Partial<Human>): void {
    this.writer.updateHuman(id, patch)
  }
  appendTranscript(id: string, text: string): void {
    this.writer.appendTranscript(id, text)
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
