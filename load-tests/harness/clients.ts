/**
 * Clients for tests: the unchanged y-websocket WebsocketProvider (with `ws` as its
 * WebSocket), a raw socket for sending arbitrary bytes, and event-driven waits.
 */
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

/** An unchanged WebsocketProvider; `params` go in the query string (a token: `{ token }`). */
export function provider(wsUrl: string, docName: string, doc = new Y.Doc(), params?: Record<string, string>): WebsocketProvider {
  return new WebsocketProvider(wsUrl, docName, doc, { WebSocketPolyfill: WebSocket as never, disableBc: true, ...(params ? { params } : {}) })
}

/** An unchanged HocuspocusProviderWebsocket given the server's base URL, as Hocuspocus users configure it; documents attach to it. */
export function hocuspocusSocket(wsUrl: string): HocuspocusProviderWebsocket {
  return new HocuspocusProviderWebsocket({ url: wsUrl, WebSocketPolyfill: WebSocket as never })
}

export interface HocuspocusOptions {
  readonly doc?: Y.Doc
  readonly token?: string | (() => Promise<string>) | null
  /** A socket shared with other documents (multiplexing); by default the provider opens its own. */
  readonly socket?: HocuspocusProviderWebsocket
  // biome-ignore lint/suspicious/noExplicitAny: the provider's event payloads differ per event; tests read what they need
  readonly on?: Record<string, (data: any) => void>
}

/** An unchanged HocuspocusProvider of `name` at the server's base URL (or on `socket`), attached. */
export function hocuspocusProvider(wsUrl: string, name: string, opts: HocuspocusOptions = {}): HocuspocusProvider {
  const doc = opts.doc ?? new Y.Doc()
  const common = { name, document: doc, token: opts.token ?? null }
  const provider = opts.socket
    ? new HocuspocusProvider({ ...common, websocketProvider: opts.socket })
    : new HocuspocusProvider({ ...common, url: wsUrl, WebSocketPolyfill: WebSocket as never } as never)
  for (const [event, f] of Object.entries(opts.on ?? {})) provider.on(event, f)
  if (opts.socket) provider.attach()
  return provider
}

/** Waits for a HocuspocusProvider's first sync (its `synced` event). */
export function hocuspocusSynced(p: HocuspocusProvider, ms?: number): Promise<void> {
  return until('Hocuspocus provider sync', () => p.isSynced, on(p, 'synced'), ms)
}

/** The close codes a provider receives, as they come. */
export function closeCodes(p: WebsocketProvider): number[] {
  const codes: number[] = []
  p.on('connection-close', (e: CloseEvent | null) => {
    if (e) codes.push(e.code)
  })
  return codes
}

/** Resolves when `check()` holds, re-checking on every event from `on`; rejects after `ms`. */
export function until(what: string, check: () => boolean, on: (wake: () => void) => () => void, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (check()) return resolve()
    const timer = setTimeout(() => {
      off()
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`))
    }, ms)
    const off = on(() => {
      if (!check()) return
      clearTimeout(timer)
      off()
      resolve()
    })
  })
}

/** What `until` listens to: `event` of `emitter` (a Y.Doc, a provider, an awareness). */
// biome-ignore lint/suspicious/noExplicitAny: the emitters' listener types differ; only the wake-up matters here
export function on(emitter: { on(event: string, f: any): unknown; off(event: string, f: any): unknown }, event: string) {
  return (wake: () => void): (() => void) => {
    emitter.on(event, wake)
    return () => emitter.off(event, wake)
  }
}

/** Waits until `check(doc)` holds, re-checking on each update of the doc. */
export function untilDoc(doc: Y.Doc, what: string, check: (doc: Y.Doc) => boolean, ms?: number): Promise<void> {
  return until(what, () => check(doc), on(doc, 'update'), ms)
}

export function synced(p: WebsocketProvider, ms?: number): Promise<void> {
  return until('provider sync', () => p.synced, on(p, 'sync'), ms)
}

/** Waits until the server's copy of `docName` satisfies `check`, as a new client receives it. */
export async function serverHas(wsUrl: string, docName: string, check: (doc: Y.Doc) => boolean, ms?: number, params?: Record<string, string>): Promise<void> {
  const reader = provider(wsUrl, docName, new Y.Doc(), params)
  try {
    await synced(reader, ms)
    await untilDoc(reader.doc, `the server's ${docName}`, check, ms)
  } finally {
    reader.destroy()
  }
}

/** Polls an async condition (for state only visible over HTTP). */
export async function eventually<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  let last: T | undefined
  while (Date.now() < deadline) {
    last = await probe()
    if (ok(last)) return last
    await new Promise((r) => setTimeout(r, 25)) // polling interval of this wait, not a wait of its own
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}; last value: ${JSON.stringify(last)}`)
}

export interface RawClient {
  readonly ws: WebSocket
  readonly received: Uint8Array[]
  readonly closed: Promise<{ code: number; reason: string }>
  send(bytes: Uint8Array): void
}

/** The code `client` is closed with within `ms`, or 0 when it is still open then (it is closed after). */
export async function closeCode(client: RawClient, ms = 10_000): Promise<number> {
  let timer: NodeJS.Timeout | undefined
  const code = await Promise.race([client.closed.then((e) => e.code), new Promise<number>((r) => (timer = setTimeout(() => r(0), ms)))])
  clearTimeout(timer)
  client.ws.close()
  return code
}

/** A bare socket for sending arbitrary frames; resolves once open. */
export async function rawClient(url: string, options: WebSocket.ClientOptions = {}): Promise<RawClient> {
  const ws = new WebSocket(url, options)
  ws.binaryType = 'nodebuffer'
  const received: Uint8Array[] = []
  ws.on('message', (data: Buffer) => received.push(new Uint8Array(data)))
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return { ws, received, closed, send: (bytes) => ws.send(bytes) }
}
