/**
 * One simulated editor: a socket speaking the y-websocket or Hocuspocus protocol and a local
 * Y.Doc that produces real Yjs updates shaped like Atrium documents (components created and
 * moved, anchor poses, transcript typing). Every update carries its send time as a small
 * `{lt: ms}` value, so any receiver — in any worker process — measures latency by decoding
 * the update, without applying it. Only sampled editors apply what they receive, for the
 * convergence check at the end.
 */
import WebSocket from 'ws'
import * as Y from 'yjs'
import { decodeAwarenessUpdate, encodeAwarenessUpdate } from '../../shared/protocol/awareness.ts'
import {
  decodeCloseReason,
  decodeHocuspocusFrame,
  encodeHocuspocusAuth,
  encodeHocuspocusFrame,
  HocuspocusAuth,
  HocuspocusType,
} from '../../shared/protocol/hocuspocus.ts'
import { decodeMessage, encodeAwareness, encodeSyncStep1, encodeSyncStep2, encodeUpdate } from '../../shared/protocol/messages.ts'
import { nowMs } from './clock.ts'

export type Protocol = 'yws' | 'hocuspocus'

export interface EditorEvents {
  /** A delivery of another editor's update, with its end-to-end latency; `crossNode` when the writer used another server URL. */
  delivery(latencyMs: number, crossNode: boolean): void
  /** A pose (awareness) of another editor seen by a sampled replica, with its latency. */
  pose?(latencyMs: number): void
  error(kind: 'connect' | 'closed' | 'protocol', detail: string): void
}

export interface EditorOptions {
  readonly url: string
  readonly docName: string
  readonly protocol: Protocol
  readonly index: number
  /** Which of the server URLs (cluster nodes) this editor uses. */
  readonly node?: number
  /** Apply every received update (convergence sample). */
  readonly replica: boolean
  /** Extra bytes of payload per edit. */
  readonly payload: number
  /** Access-control token: `?token=` of the document's URL (y-websocket), the auth message's token (Hocuspocus). */
  readonly token?: string | undefined
  readonly events: EditorEvents
  readonly stamps: StampCache
}

const REMOTE = Symbol('remote')
const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

/** Send stamps inside an update: [writer clientID, send time, writer's node] of every `{lt: ms, n}` value. */
export function stampsIn(update: Uint8Array): [number, number, number][] {
  const out: [number, number, number][] = []
  for (const struct of Y.decodeUpdate(update).structs) {
    if (!(struct instanceof Y.Item)) continue
    const content = struct.content
    if (content instanceof Y.ContentAny) {
      const v = content.arr[0] as { lt?: unknown; n?: unknown } | undefined
      if (v && typeof v === 'object' && typeof v.lt === 'number') out.push([struct.id.client, v.lt, typeof v.n === 'number' ? v.n : 0])
    }
  }
  return out
}

/**
 * Every editor of a document in one process receives the same bytes: decode each distinct
 * update once. Keyed by the full content (latin1 string), bounded, so it cannot grow or lie.
 */
export class StampCache {
  private readonly map = new Map<string, [number, number, number][]>()
  constructor(private readonly max = 2048) {}
  get(update: Uint8Array): [number, number, number][] {
    const key = Buffer.from(update.buffer, update.byteOffset, update.byteLength).toString('latin1')
    let stamps = this.map.get(key)
    if (!stamps) {
      if (this.map.size >= this.max) this.map.clear()
      this.map.set(key, (stamps = stampsIn(update)))
    }
    return stamps
  }
}

/**
 * Why a Hocuspocus server gave up on a document while its socket stays open: `permission
 * denied` (its reason) or a close message (Atrium's carries the code and reason); else null.
 */
export function hocuspocusRefusal(frame: Uint8Array): string | null {
  let type: number
  let body: Uint8Array
  try {
    ;({ type, body } = decodeHocuspocusFrame(frame))
  } catch {
    return null // not a refusal: receive() counts it as a protocol error
  }
  if (type === HocuspocusType.Close) return `document closed: ${readReason(body, 0) || 'no reason given'}`
  if (type === HocuspocusType.Auth && body[0] === HocuspocusAuth.PermissionDenied) return `permission denied: ${readReason(body, 1) || 'no reason given'}`
  return null
}

/** The reason (a varString) at `at` of a refusal's body; '' when it has none. */
function readReason(body: Uint8Array, at: number): string {
  try {
    return decodeCloseReason(body.subarray(at))
  } catch (err) {
    return `(unreadable reason: ${(err as Error).message})`
  }
}

export class Editor {
  readonly doc = new Y.Doc()
  ws: WebSocket | null = null
  sent = 0
  syncedAfterMs: number | null = null
  private edits = 0
  private awarenessClock = 0
  private readonly padding: string

  constructor(readonly opts: EditorOptions) {
    this.padding = 'x'.repeat(opts.payload)
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== REMOTE) this.send(encodeUpdate(update))
    })
  }

  private send(message: Uint8Array): void {
    const ws = this.ws
    if (!ws || ws.readyState !== WebSocket.OPEN) return
    ws.send(this.opts.protocol === 'hocuspocus' ? encodeHocuspocusFrame(this.opts.docName, message) : message)
  }

  /** Connects and resolves once the first sync step 2 arrived (the document is synced). */
  connect(timeoutMs = 30_000): Promise<void> {
    const { url, docName, protocol, events } = this.opts
    const started = nowMs()
    const query = this.opts.token ? `?token=${encodeURIComponent(this.opts.token)}` : ''
    const ws = new WebSocket(protocol === 'hocuspocus' ? url : `${url}/${docName}${query}`)
    ws.binaryType = 'nodebuffer'
    this.ws = ws
    return new Promise((resolve, reject) => {
      let failed = false
      const timer = setTimeout(() => fail(`not synced within ${timeoutMs} ms`), timeoutMs)
      // One connect error per editor: a timeout or refusal is followed by the socket's close.
      const fail = (detail: string) => {
        if (failed) return
        failed = true
        clearTimeout(timer)
        events.error('connect', detail)
        reject(new Error(detail))
        if (this.ws === ws) this.close()
      }
      ws.on('error', (err) => (this.syncedAfterMs === null ? fail(err.message) : events.error('closed', err.message)))
      ws.on('close', (code, reason) => {
        if (this.syncedAfterMs === null) fail(`closed ${code} ${reason}`)
        else if (this.ws === ws) events.error('closed', `closed ${code} ${reason}`)
      })
      ws.on('open', () => {
        if (protocol === 'hocuspocus') ws.send(encodeHocuspocusAuth(docName, this.opts.token ?? ''))
        this.send(encodeSyncStep1(Y.encodeStateVector(this.doc)))
      })
      ws.on('message', (data: Buffer) => {
        const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
        const refused = protocol === 'hocuspocus' ? hocuspocusRefusal(frame) : null
        if (refused !== null) {
          // The document was denied or closed while the socket stays open: say why, now.
          if (this.syncedAfterMs === null) fail(refused)
          else if (this.ws === ws) events.error('closed', refused)
          return
        }
        const synced = this.receive(frame)
        if (synced && this.syncedAfterMs === null) {
          this.syncedAfterMs = nowMs() - started
          clearTimeout(timer)
          resolve()
        }
      })
    })
  }

  /** Handles one frame; returns true when it was a sync step 2 (the initial sync). */
  private receive(frame: Uint8Array): boolean {
    let message = frame
    let msg: ReturnType<typeof decodeMessage>
    try {
      if (this.opts.protocol === 'hocuspocus') {
        // Sync status (the server's acknowledgements), auth and stateless frames are not news.
        const { type, message: inner } = decodeHocuspocusFrame(frame)
        if (type !== HocuspocusType.Sync && type !== HocuspocusType.SyncReply && type !== HocuspocusType.Awareness) return false
        message = type === HocuspocusType.SyncReply ? Uint8Array.from([HocuspocusType.Sync, ...inner.subarray(1)]) : inner
      }
      msg = decodeMessage(message)
    } catch (err) {
      this.opts.events.error('protocol', (err as Error).message)
      return false
    }
    if (msg.type === 'sync-step1') {
      // The server asks for what it lacks (y-websocket and Hocuspocus both do on connect).
      this.send(encodeSyncStep2(Y.encodeStateAsUpdate(this.doc, msg.stateVector)))
      return false
    }
    if (msg.type === 'awareness') {
      if (this.opts.replica && this.opts.events.pose) this.posesIn(msg.update, this.opts.events.pose)
      return false
    }
    if (msg.type !== 'update' && msg.type !== 'sync-step2') return false
    // Only live updates count as deliveries; a sync step 2 carries history, not news.
    if (msg.type === 'update') {
      const now = nowMs()
      const self = this.doc.clientID
      const node = this.opts.node ?? 0
      for (const [writer, sentAt, from] of this.opts.stamps.get(msg.update)) if (writer !== self) this.opts.events.delivery(now - sentAt, from !== node)
    }
    if (this.opts.replica) Y.applyUpdate(this.doc, msg.update, REMOTE)
    return msg.type === 'sync-step2'
  }

  /**
   * Pose latency, measured only by sampled replicas: parsing every pose's JSON in every
   * receiver would make the generator the bottleneck at 90 Hz × 50 editors.
   */
  private posesIn(update: Uint8Array, record: (ms: number) => void): void {
    const now = nowMs()
    let entries: ReturnType<typeof decodeAwarenessUpdate>
    try {
      entries = decodeAwarenessUpdate(update)
    } catch (err) {
      this.opts.events.error('protocol', (err as Error).message)
      return
    }
    for (const { clientId, state } of entries) {
      if (clientId === this.doc.clientID || !state) continue
      const t = (JSON.parse(textDecoder.decode(state)) as { t?: unknown }).t
      if (typeof t === 'number') record(now - t)
    }
  }

  /** One edit, rotating through the shapes of our documents; each carries its send time. */
  edit(): void {
    const n = this.edits++
    const id = `${this.doc.clientID}`
    this.doc.transact(() => {
      const kind = n % 4
      if (kind === 0 || kind === 1) {
        this.doc.getMap('objects').set(`c-${id}-${n % 16}`, {
          type: 'component',
          parentId: `zone-${this.opts.index % 8}`,
          name: `AHU ${n}`,
          pos: [n % 100, this.opts.index, 0],
          pad: this.padding,
        })
      } else if (kind === 2) {
        this.doc.getMap('anchors').set(`a-${id}`, { pose: { p: [n * 0.01, 1.6, 0], q: [0, 0, 0, 1] }, label: 'desk', confidence: 0.9 })
      } else {
        const humans = this.doc.getMap<Y.Text>('transcripts')
        let t = humans.get(id)
        if (!t) humans.set(id, (t = new Y.Text()))
        t.insert(t.length, `w${n} `)
      }
      this.doc.getMap('lt').set(id, { lt: nowMs(), n: this.opts.node ?? 0 })
    })
    this.sent++
  }

  /** One XR pose as awareness (ephemeral, not document state). */
  pose(): void {
    const state = JSON.stringify({ user: this.opts.index, t: nowMs(), head: { p: [Math.random(), 1.6, Math.random()], q: [0, 0, 0, 1] } })
    const update = encodeAwarenessUpdate([{ clientId: this.doc.clientID, clock: ++this.awarenessClock, state: textEncoder.encode(state) }])
    this.send(encodeAwareness(update))
  }

  close(): void {
    const ws = this.ws
    this.ws = null
    ws?.close()
  }
}
