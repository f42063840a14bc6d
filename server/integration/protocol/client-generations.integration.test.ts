/**
 * Every y-websocket client generation on one Atrium document at once: y-websocket 1.x, 2.x,
 * 3.x (Yjs 13) and @y/websocket 4 (Yjs 14 release candidate, whose updates are the same bytes
 * on the wire). Each writes and must see the others' writes and presence, a 1.x client catches
 * up after a reconnect, and the server's copy (read by a Yjs 13 client) holds everything. Each
 * generation is asserted on its own, so a change that breaks any one of them fails here by name.
 */
import { WebsocketProvider as ProviderV4 } from '@y/websocket'
import * as Y14 from '@y/y'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { WebsocketProvider as ProviderV3 } from 'y-websocket'
import { WebsocketProvider as ProviderV1 } from 'y-websocket-v1'
import { WebsocketProvider as ProviderV2 } from 'y-websocket-v2'
import * as Y from 'yjs'
import { on, serverHas, until } from '../../../load-tests/harness/clients.ts'
import { startInProcess, type InProcessServer } from '../../testing/in-process.ts'

const DOC = 'gen/all-generations'

// biome-ignore lint/suspicious/noExplicitAny: the generations' listener types differ; only the wake-up matters here
type Listener = (...args: any[]) => void

interface Emitter {
  on(event: string, f: Listener): unknown
  off(event: string, f: Listener): unknown
}

/** What the tests use of a provider, the same in every generation. */
interface ProviderLike extends Emitter {
  readonly synced: boolean
  readonly awareness: Emitter & {
    readonly clientID: number
    setLocalStateField(field: string, value: unknown): void
    getStates(): Map<number, { [field: string]: unknown }>
  }
  connect(): void
  disconnect(): void
  destroy(): void
}

/** One client of one generation, behind the few document operations the tests need. */
interface Client {
  readonly generation: string
  /** The map key this client writes. */
  readonly key: string
  readonly provider: ProviderLike
  /** Emits 'update' on every change of the client's document. */
  readonly doc: Emitter
  set(key: string, value: string): void
  get(key: string): unknown
  insertText(index: number, text: string): void
  text(): string
}

const options = { WebSocketPolyfill: WebSocket as never, disableBc: true }

/** A Yjs 13 client (y-websocket 1.x, 2.x, 3.x): a Y.Map 'm' and a Y.Text 't'. */
function yjs13(generation: string, key: string, open: (doc: Y.Doc) => ProviderLike): Client {
  const doc = new Y.Doc()
  return {
    generation,
    key,
    doc,
    provider: open(doc),
    set: (k, v) => doc.getMap('m').set(k, v),
    get: (k) => doc.getMap('m').get(k),
    insertText: (i, s) => doc.getText('t').insert(i, s),
    text: () => doc.getText('t').toString(),
  }
}

/** A Yjs 14 client: one kind of type per root name; map entries are its attributes, text its children. */
function yjs14(url: string): Client {
  const doc = new Y14.Doc()
  return {
    generation: '@y/websocket 4 (Yjs 14)',
    key: 'v4',
    doc,
    provider: new ProviderV4(url, DOC, doc, options) as unknown as ProviderLike,
    set: (k, v) => doc.get('m').setAttr(k, v),
    get: (k) => doc.get('m').getAttr(k),
    insertText: (i, s) => doc.get('t').insert(i, s),
    text: () => doc.get('t').toString(),
  }
}

const sees = (observer: Client, key: string, value: string) =>
  until(`${observer.generation} to see ${key}=${value}`, () => observer.get(key) === value, on(observer.doc, 'update'))

describe('y-websocket 1.x, 2.x, 3.x and @y/websocket 4 (Yjs 14) on one Atrium document', () => {
  let node: InProcessServer
  let clients: Client[]
  let v1: Client
  beforeAll(async () => {
    node = await startInProcess()
    const url = node.url
    v1 = yjs13('y-websocket 1.x', 'v1', (doc) => new ProviderV1(url, DOC, doc, options) as unknown as ProviderLike)
    clients = [
      v1,
      yjs13('y-websocket 2.x', 'v2', (doc) => new ProviderV2(url, DOC, doc, options) as unknown as ProviderLike),
      yjs13('y-websocket 3.x', 'v3', (doc) => new ProviderV3(url, DOC, doc, options) as unknown as ProviderLike),
      yjs14(url),
    ]
  })
  afterAll(async () => {
    try {
      for (const c of clients ?? []) c.provider.destroy()
    } finally {
      await node?.close()
    }
  })

  it('every generation connects and finishes the initial sync', async () => {
    await Promise.all(clients.map((c) => until(`${c.generation} to sync`, () => c.provider.synced, on(c.provider, 'sync'))))
    for (const c of clients) expect(c.provider.synced, `${c.generation} synced`).toBe(true)
  })

  it('each generation writes its own map key and sees all four', async () => {
    for (const c of clients) c.set(c.key, c.generation)
    await Promise.all(clients.flatMap((observer) => clients.map((writer) => sees(observer, writer.key, writer.generation))))
    for (const observer of clients) {
      for (const writer of clients) expect(observer.get(writer.key), `${observer.generation} sees ${writer.generation}'s key`).toBe(writer.generation)
    }
  })

  it('text inserted by a 1.x and a Yjs 14 client reaches every generation, identically', async () => {
    const v4 = clients[3]!
    v1.insertText(0, 'old ')
    v4.insertText(0, 'new ')
    const hasBoth = (c: Client) => c.text().includes('old ') && c.text().includes('new ')
    await Promise.all(clients.map((c) => until(`${c.generation} to see both inserts`, () => hasBoth(c), on(c.doc, 'update'))))
    for (const c of clients) expect(c.text(), `${c.generation}'s text`).toBe(v1.text())
    expect(v1.text()).toHaveLength('old new '.length)
  })

  it("awareness: each generation sees the other three's local state", async () => {
    for (const c of clients) c.provider.awareness.setLocalStateField('user', { generation: c.generation })
    const shown = (observer: Client, other: Client) =>
      (observer.provider.awareness.getStates().get(other.provider.awareness.clientID)?.user as { generation?: string } | undefined)?.generation
    await Promise.all(
      clients.flatMap((observer) =>
        clients
          .filter((other) => other !== observer)
          .map((other) =>
            until(
              `${observer.generation} to see ${other.generation}'s presence`,
              () => shown(observer, other) === other.generation,
              on(observer.provider.awareness, 'change'),
            ),
          ),
      ),
    )
    for (const observer of clients) {
      for (const other of clients) expect(shown(observer, other), `${observer.generation} sees ${other.generation}'s presence`).toBe(other.generation)
    }
  })

  it('a 1.x client that was disconnected catches up after reconnecting, and its offline edit reaches the others', async () => {
    const [, v2, v3, v4] = clients as [Client, Client, Client, Client]
    v1.provider.disconnect()
    v3.set('while-v1-away-3', 'from 3.x')
    v4.set('while-v1-away-4', 'from Yjs 14')
    v1.set('v1-offline', 'from 1.x offline')
    // The server has both edits once another client received them through it.
    await Promise.all([sees(v2, 'while-v1-away-3', 'from 3.x'), sees(v2, 'while-v1-away-4', 'from Yjs 14')])
    expect(v1.get('while-v1-away-3'), 'nothing reaches 1.x while it is disconnected').toBeUndefined()
    expect(v2.get('v1-offline'), "1.x's offline edit stays with it while it is disconnected").toBeUndefined()

    v1.provider.connect()
    await until('1.x to sync again', () => v1.provider.synced, on(v1.provider, 'sync'))
    await Promise.all([
      sees(v1, 'while-v1-away-3', 'from 3.x'),
      sees(v1, 'while-v1-away-4', 'from Yjs 14'),
      ...[v2, v3, v4].map((c) => sees(c, 'v1-offline', 'from 1.x offline')),
    ])
    expect(v1.get('while-v1-away-3')).toBe('from 3.x')
    expect(v1.get('while-v1-away-4')).toBe('from Yjs 14')
    for (const c of [v2, v3, v4]) expect(c.get('v1-offline'), `${c.generation} has 1.x's offline edit`).toBe('from 1.x offline')
  })

  it("the server's copy, read by a Yjs 13 client, holds every generation's writes", async () => {
    const expected: [string, string][] = [
      ...clients.map((c): [string, string] => [c.key, c.generation]),
      ['while-v1-away-3', 'from 3.x'],
      ['while-v1-away-4', 'from Yjs 14'],
      ['v1-offline', 'from 1.x offline'],
    ]
    let stored: { [key: string]: unknown } = {}
    let text = ''
    const holdsAll = (d: Y.Doc) => {
      stored = d.getMap('m').toJSON()
      text = d.getText('t').toString()
      return expected.every(([k, v]) => stored[k] === v) && text === v1.text()
    }
    await serverHas(node.url, DOC, holdsAll).catch((e: Error) => {
      throw new Error(`${e.message}; it holds ${JSON.stringify({ m: stored, t: text })}`)
    })
    for (const [k, v] of expected) expect(stored[k], `the server's copy has ${k}`).toBe(v)
    expect(text, "the server's text").toBe(v1.text())
  })
})
