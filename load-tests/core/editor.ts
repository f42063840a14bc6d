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
import { decodeHocuspocusFrame, encodeHocuspocusAuth, encodeHocuspocusFrame, HocuspocusType } from '../../shared/protocol/hocuspocus.ts'
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
  /** Access-control token, sent as `?token=` (y-websocket framing). */
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
      const timer = setTimeout(() => fail('connect', `not synced within ${timeoutMs} ms`), timeoutMs)
      const fail = (kind: 'connect' | 'closed', detail: string) => {
        clearTimeout(timer)
        events.error(kind, detail)
        reject(new Error(detail))
      }
      ws.on('error', (err) => (this.syncedAfterMs === null ? fail('connect', err.message) : events.error('closed', err.message)))
      ws.on('close', (code, reason) => {
        if (this.syncedAfterMs === null) fail('connect', `closed ${code} ${reason}`)
        else if (this.ws === ws) events.error('closed', `closed ${code} ${reason}`)
      })
      ws.on('open', () => {
        if (protocol === 'hocuspocus') ws.send(encodeHocuspocusAuth(docName, ''))
        this.send(encodeSyncStep1(Y.encodeStateVector(this.doc)))
      })
      ws.on('message', (data: Buffer) => {
        const synced = this.receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
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
    if (this.opts.protocol === 'hocuspocus') {
      const { type, message: inner } = decodeHocuspocusFrame(frame)
      if (type !== HocuspocusType.Sync && type !== HocuspocusType.SyncReply && type !== HocuspocusType.Awareness) return false
      message = type === HocuspocusType.SyncReply ? Uint8Array.from([HocuspocusType.Sync, ...inner.subarray(1)]) : inner
    }
    let msg: ReturnType<typeof decodeMessage>
    try {
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
