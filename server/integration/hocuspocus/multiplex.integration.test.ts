/**
 * Many documents over one Hocuspocus socket, with unchanged providers (@hocuspocus/provider 3.x
 * and 4.x): they all converge with clients elsewhere, on exactly one server socket; refusing a
 * document (no right, one too many) or closing one leaves the socket's others working; a
 * document its client closed is unloaded after the grace period; a document closed and opened
 * again at once on the same socket gets a session of its own, even while the first one's token
 * check or load is still in flight. In-process server on LMDB.
 */
import { EventEmitter } from 'node:events'
import { rm } from 'node:fs/promises'
import * as HP3 from '@hocuspocus/provider'
import * as HP4 from 'hocuspocus-provider-v4'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { eventually, on, provider, synced, until, untilDoc } from '../../../load-tests/harness/clients.ts'
import { metric, tempDir } from '../../../load-tests/harness/server-process.ts'
import { HocuspocusType } from '../../../shared/protocol/hocuspocus.ts'
import { LmdbStore } from '../../../persistence/lmdb-store.ts'
import { mintToken } from '../../auth/mint.ts'
import { type Atrium, configWith, createAtrium, createLogger, identityOf } from '../../index.ts'
import { type InProcessServer, startInProcess } from '../../testing/in-process.ts'

/** What the tests use of a provider, the same in 3.x and 4.x. */
interface HpProvider {
  readonly document: Y.Doc
  readonly isSynced: boolean
  readonly hasUnsyncedChanges: boolean
  attach(): void
  detach(): void
  destroy(): void
  // biome-ignore lint/suspicious/noExplicitAny: the providers' listener types differ per event and version
  on(event: string, f: any): unknown
  // biome-ignore lint/suspicious/noExplicitAny: as above
  off(event: string, f: any): unknown
}
interface HpSocket {
  destroy(): void
}

/** One generation of the provider package: its shared socket and providers attached to it. */
interface Flavor {
  readonly name: string
  socket(url: string): HpSocket
  provider(socket: HpSocket, name: string, token?: string): HpProvider
}

const flavors: Flavor[] = [
  {
    name: '@hocuspocus/provider 3.x',
    socket: (url) => new HP3.HocuspocusProviderWebsocket({ url, WebSocketPolyfill: WebSocket as never }),
    provider: (socket, name, token) =>
      attached(new HP3.HocuspocusProvider({ name, token: token ?? null, websocketProvider: socket as HP3.HocuspocusProviderWebsocket })),
  },
  {
    name: '@hocuspocus/provider 4.x',
    socket: (url) => new HP4.HocuspocusProviderWebsocket({ url, WebSocketPolyfill: WebSocket as never }),
    provider: (socket, name, token) =>
      attached(new HP4.HocuspocusProvider({ name, token: token ?? null, websocketProvider: socket as HP4.HocuspocusProviderWebsocket })),
  },
]

function attached(p: HpProvider): HpProvider {
  p.attach()
  return p
}

const isSynced = (p: HpProvider) => until(`sync of a Hocuspocus provider`, () => p.isSynced, on(p, 'synced'))

/** The payload of the provider's first `event` that `pick` accepts (bounded, as `until`); listen before it can come. */
async function first<T>(p: HpProvider, event: string, pick: (payload: never) => T | undefined): Promise<T> {
  let got: T | undefined
  const f = (payload: never) => {
    got ??= pick(payload)
  }
  p.on(event, f)
  try {
    await until(`the provider's ${event}`, () => got !== undefined, on(p, event))
    return got as T
  } finally {
    p.off(event, f)
  }
}

/** The reason of the provider's first authenticationFailed. */
const refusal = (p: HpProvider) => first(p, 'authenticationFailed', ({ reason }: { reason: string }) => reason)

/** A y-websocket provider per name, synced: the other client of each document. */
async function readers(url: string, names: string[], token?: string) {
  const all = names.map((n) => provider(url, n, new Y.Doc(), token ? { token } : undefined))
  await Promise.all(all.map((r) => synced(r)))
  return all
}

/** Writes `key` through each editor and waits until the matching reader has it, then the reverse. */
async function editBothWays(editors: HpProvider[], others: { doc: Y.Doc }[], key: string) {
  for (const [i, e] of editors.entries()) e.document.getMap('m').set(key, i)
  await Promise.all(others.map((o, i) => untilDoc(o.doc, `${key} of editor ${i}`, (d) => d.getMap('m').get(key) === i)))
  for (const [i, o] of others.entries()) o.doc.getMap('m').set(`${key}-back`, i)
  await Promise.all(editors.map((e, i) => untilDoc(e.document, `${key}-back of reader ${i}`, (d) => d.getMap('m').get(`${key}-back`) === i)))
}

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}/${i}`)

describe('many documents over one Hocuspocus socket', () => {
  let node: InProcessServer
  beforeAll(async () => {
    node = await startInProcess({ DOC_UNLOAD_GRACE_MS: 50 })
  })
  afterAll(() => node.close())

  for (const [i, flavor] of flavors.entries()) {
    it(`${flavor.name}: 100 documents on one socket converge with a second client each`, async () => {
      // Each y-websocket reader below listens for the process's exit: 100 of them are expected here.
      const maxListeners = process.getMaxListeners()
      process.setMaxListeners(maxListeners + 100)
      const socket = flavor.socket(node.url)
      const docs = names(`many${i}`, 100)
      const editors = docs.map((n) => flavor.provider(socket, n))
      const others = flavors[(i + 1) % flavors.length]!
      let otherSocket: HpSocket | null = null
      try {
        await Promise.all(editors.map(isSynced))
        for (const [j, e] of editors.entries()) e.document.getMap('m').set('first', j)
        // The 100 documents are one socket on the server (no test before this one left a socket open).
        expect(await metric(node.http, 'atrium_connections')).toBe(1)
        // Second clients: a socket of the other generation, then a y-websocket provider per document.
        otherSocket = others.socket(node.url)
        const mirrors = docs.map((n) => others.provider(otherSocket!, n))
        await Promise.all(mirrors.map(isSynced))
        await Promise.all(mirrors.map((m, j) => untilDoc(m.document, `first of ${docs[j]}`, (d) => d.getMap('m').get('first') === j)))
        expect(await metric(node.http, 'atrium_connections')).toBe(2)
        await editBothWays(
          editors,
          mirrors.map((m) => ({ doc: m.document })),
          'hp',
        )
        const ys = await readers(node.url, docs)
        try {
          await editBothWays(editors, ys, 'yws')
        } finally {
          for (const r of ys) r.destroy()
        }
      } finally {
        process.setMaxListeners(maxListeners)
        socket.destroy()
        otherSocket?.destroy()
        await eventually(
          'every socket closed',
          () => metric(node.http, 'atrium_connections'),
          (n) => n === 0,
        )
      }
    })
  }

  for (const [i, flavor] of flavors.entries()) {
    it(`${flavor.name}: a document its client closes leaves the others editing, and is unloaded after the grace period`, async () => {
      const socket = flavor.socket(node.url)
      const docs = names(`closing${i}`, 3)
      const editors = docs.map((n) => flavor.provider(socket, n))
      const ys = await readers(node.url, docs)
      try {
        await Promise.all(editors.map(isSynced))
        await editBothWays(editors, ys, 'before')
        const [gone] = ys.splice(1, 1)
        gone!.destroy()
        const [closed] = editors.splice(1, 1)
        // 3.x: destroy; 4.x: detach, the socket kept. Either sends the close message.
        if (i === 0) closed!.destroy()
        else closed!.detach()
        await eventually(
          'the closed document unloaded',
          async () => node.server.registry.peek(docs[1]!),
          (d) => d === undefined,
        )
        expect(node.server.registry.peek(docs[0]!)).toBeDefined()
        expect(node.server.registry.peek(docs[2]!)).toBeDefined()
        await editBothWays(editors, ys, 'after')
      } finally {
        for (const r of ys) r.destroy()
        socket.destroy()
      }
    })
  }
})

describe('refusing one document of a socket', () => {
  const SECRET = 'multiplex-secret-of-32-characters-at-least'
  let node: InProcessServer
  beforeAll(async () => {
    node = await startInProcess({ AUTH_SECRET: SECRET, MAX_DOCUMENTS_PER_CONNECTION: 3 })
  })
  afterAll(() => node.close())
  const mint = () => mintToken({ secret: SECRET, sub: 'tester', docs: { 'team/**': 'write', 'team/secret': 'none' }, ttlS: 600 })

  for (const [i, flavor] of flavors.entries()) {
    it(`${flavor.name}: no right to one document: it is denied, the others go on syncing and editing on the same socket`, async () => {
      const token = await mint()
      const socket = flavor.socket(node.url)
      const docs = names(`team/rights${i}`, 2)
      const editors = docs.map((n) => flavor.provider(socket, n, token))
      const ys = await readers(node.url, docs, token)
      try {
        await Promise.all(editors.map(isSynced))
        const secret = flavor.provider(socket, 'team/secret', token)
        expect(await refusal(secret)).toMatch(/forbidden/)
        secret.destroy()
        await editBothWays(editors, ys, 'after-refusal')
      } finally {
        for (const r of ys) r.destroy()
        socket.destroy()
      }
    })

    it(`${flavor.name}: one document past MAX_DOCUMENTS_PER_CONNECTION is denied, the first ones keep working`, async () => {
      const token = await mint()
      const socket = flavor.socket(node.url)
      const docs = names(`team/cap${i}`, 4)
      const editors = docs.slice(0, 3).map((n) => flavor.provider(socket, n, token))
      const ys = await readers(node.url, docs.slice(0, 3), token)
      try {
        await Promise.all(editors.map(isSynced))
        const fourth = flavor.provider(socket, docs[3]!, token)
        expect(await refusal(fourth)).toMatch(/MAX_DOCUMENTS_PER_CONNECTION/)
        fourth.destroy()
        await editBothWays(editors, ys, 'after-cap')
      } finally {
        for (const r of ys) r.destroy()
        socket.destroy()
      }
    })
  }
})

/** A gate tests open and close: while closed, what waits on it waits. */
class Gate {
  private opened: Promise<void> = Promise.resolve()
  private release = () => {}
  close(): void {
    this.opened = new Promise((resolve) => {
      this.release = resolve
    })
  }
  open(): void {
    this.release()
  }
  pass(): Promise<void> {
    return this.opened
  }
}

/** Resolves once the provider has sent a message of `type` (call it right after attaching: the provider sends a tick later). */
const sent = (p: HpProvider, type: number) => first(p, 'outgoingMessage', ({ message }: { message: { type: number } }) => message.type === type || undefined)

/** An edit of `p` acknowledged (SyncStatus): a round trip on its socket behind everything sent before it. */
async function roundTrip(p: HpProvider, key: string): Promise<void> {
  p.document.getMap('m').set(key, true)
  await until(`the acknowledgement of ${key}`, () => !p.hasUnsyncedChanges, on(p, 'unsyncedChanges'))
}

describe('a document closed and opened again at once on one socket', () => {
  /** Emits `check` at every token check and `load` at every load of the store. */
  const checks = new EventEmitter()
  let tokenChecks = 0
  const tokenCheck = new Gate()
  const load = new Gate()
  /** The names whose load started, in order. */
  const loads: string[] = []
  let gatedLoad = ''
  let server: Atrium
  let store: LmdbStore
  let dir: string
  let url: string
  beforeAll(async () => {
    dir = await tempDir()
    store = new LmdbStore({ path: dir, mapSize: 1024 ** 3 })
    // The store's load of `gatedLoad` waits for the load gate.
    const gated = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop !== 'load') return Reflect.get(target, prop, receiver)
        return async (name: string) => {
          loads.push(name)
          checks.emit('load')
          if (name === gatedLoad) await load.pass()
          return target.load(name)
        }
      },
    })
    server = await createAtrium({
      config: configWith({ PORT: 0, HOST: '127.0.0.1', DATA_DIR: dir }),
      logger: createLogger({ level: 'silent', pretty: false }),
      store: gated,
      hooks: {
        // An identity provider the test slows down at will.
        authenticate: async () => {
          tokenChecks++
          checks.emit('check')
          await tokenCheck.pass()
          return identityOf({ sub: 'tester', docs: { '**': 'write' } })
        },
      },
    })
    url = `ws://127.0.0.1:${server.port}`
  })
  afterAll(async () => {
    tokenCheck.open()
    load.open()
    await server?.close()
    await store?.close()
    await rm(dir, { recursive: true, force: true })
  })

  /**
   * Opens `name` on a socket that carries another document, and, while `gate` holds the first
   * session, closes it and opens it again with a new provider: that one must sync and edit.
   */
  async function reopenWhile(flavor: Flavor, name: string, gate: Gate, started: () => Promise<void>) {
    const socket = flavor.socket(url)
    const keep = flavor.provider(socket, `${name}-keep`)
    try {
      await isSynced(keep)
      gate.close()
      const wait = started()
      const earlier = flavor.provider(socket, name)
      await wait
      earlier.destroy()
      const second = flavor.provider(socket, name)
      await sent(second, HocuspocusType.Sync)
      // The server has read the first one's close and the second one's auth and sync once this is acknowledged.
      await roundTrip(keep, 'behind-the-reopen')
      gate.open()
      await isSynced(second)
      const ys = await readers(url, [name])
      try {
        await editBothWays([second], ys, 'reopened')
      } finally {
        for (const r of ys) r.destroy()
      }
    } finally {
      gate.open()
      socket.destroy()
    }
  }

  for (const [i, flavor] of flavors.entries()) {
    it(`${flavor.name}: while the first one's token is checked`, async () => {
      await reopenWhile(flavor, `reopen/token${i}`, tokenCheck, () => {
        const from = tokenChecks
        return until('the token check of the first provider', () => tokenChecks > from, on(checks, 'check'))
      })
    })

    it(`${flavor.name}: while its document loads for the first one`, async () => {
      const name = `reopen/load${i}`
      gatedLoad = name
      try {
        await reopenWhile(flavor, name, load, () => until(`the load of ${name}`, () => loads.includes(name), on(checks, 'load')))
      } finally {
        gatedLoad = ''
      }
    })
  }
})
