/**
 * Many documents over one Hocuspocus socket, with unchanged providers (@hocuspocus/provider 3.x
 * and 4.x): they all converge with clients elsewhere, on exactly one server socket; refusing a
 * document (no right, one too many) or closing one leaves the socket's others working; a
 * document its client closed is unloaded after the grace period. In-process server on LMDB.
 */
import * as HP3 from '@hocuspocus/provider'
import * as HP4 from 'hocuspocus-provider-v4'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { eventually, on, provider, synced, until, untilDoc } from '../../../load-tests/harness/clients.ts'
import { metric } from '../../../load-tests/harness/server-process.ts'
import { mintToken } from '../../auth/mint.ts'
import { type InProcessServer, startInProcess } from '../../testing/in-process.ts'

/** What the tests use of a provider, the same in 3.x and 4.x. */
interface HpProvider {
  readonly document: Y.Doc
  readonly isSynced: boolean
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
    provider: (socket, name, token) => attached(new HP3.HocuspocusProvider({ name, token: token ?? null, websocketProvider: socket as HP3.HocuspocusProviderWebsocket })),
  },
  {
    name: '@hocuspocus/provider 4.x',
    socket: (url) => new HP4.HocuspocusProviderWebsocket({ url, WebSocketPolyfill: WebSocket as never }),
    provider: (socket, name, token) => attached(new HP4.HocuspocusProvider({ name, token: token ?? null, websocketProvider: socket as HP4.HocuspocusProviderWebsocket })),
  },
]

function attached(p: HpProvider): HpProvider {
  p.attach()
  return p
}

const isSynced = (p: HpProvider) => until(`sync of a Hocuspocus provider`, () => p.isSynced, on(p, 'synced'))

/** The reason of the provider's first authenticationFailed. */
const refusal = (p: HpProvider) =>
  new Promise<string>((resolve) => {
    const f = ({ reason }: { reason: string }) => {
      p.off('authenticationFailed', f)
      resolve(reason)
    }
    p.on('authenticationFailed', f)
  })

/** A y-websocket provider per name, synced: the other client of each document. */
async function readers(url: string, names: string[], token?: string) {
  const all = names.map((n) => provider(url, n, new Y.Doc(), token ? { token } : undefined))
  await Promise.all(all.map((r) => synced(r)))
  return all
}

/** Writes `key` through each editor and waits until the matching reader has it, then the reverse. */
async function editBothWays(editors: HpProvider[], others: { doc: Y.Doc }[], key: string) {
  editors.forEach((e, i) => e.document.getMap('m').set(key, i))
  await Promise.all(others.map((o, i) => untilDoc(o.doc, `${key} of editor ${i}`, (d) => d.getMap('m').get(key) === i)))
  others.forEach((o, i) => o.doc.getMap('m').set(`${key}-back`, i))
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
      const socket = flavor.socket(node.url)
      const docs = names(`many${i}`, 100)
      const editors = docs.map((n) => flavor.provider(socket, n))
      const others = flavors[(i + 1) % flavors.length]!
      let otherSocket: HpSocket | null = null
      try {
        await Promise.all(editors.map(isSynced))
        editors.forEach((e, j) => e.document.getMap('m').set('first', j))
        // The 100 documents are one socket on the server (no test before this one left a socket open).
        expect(await metric(node.http, 'atrium_connections')).toBe(1)
        // Second clients: a socket of the other generation, then a y-websocket provider per document.
        otherSocket = others.socket(node.url)
        const mirrors = docs.map((n) => others.provider(otherSocket!, n))
        await Promise.all(mirrors.map(isSynced))
        await Promise.all(mirrors.map((m, j) => untilDoc(m.document, `first of ${docs[j]}`, (d) => d.getMap('m').get('first') === j)))
        expect(await metric(node.http, 'atrium_connections')).toBe(2)
        await editBothWays(editors, mirrors.map((m) => ({ doc: m.document })), 'hp')
        const ys = await readers(node.url, docs)
        try {
          await editBothWays(editors, ys, 'yws')
        } finally {
          for (const r of ys) r.destroy()
        }
      } finally {
        socket.destroy()
        otherSocket?.destroy()
        await eventually('every socket closed', () => metric(node.http, 'atrium_connections'), (n) => n === 0)
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
        await eventually('the closed document unloaded', async () => node.server.registry.peek(docs[1]!), (d) => d === undefined)
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
