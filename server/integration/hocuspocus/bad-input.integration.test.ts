/**
 * Bad input on the Hocuspocus framing, over raw sockets at the server's root, against the
 * README's table (Connecting): what closes the socket (with its code), what ends one document
 * (a close message whose reason starts with the code), what is denied, dropped or ignored and
 * counted. Two bystanders of one document (a HocuspocusProvider and a y-websocket provider)
 * must keep editing together through every case. In-process server on LMDB; the queue of a
 * token check in flight against one whose authenticate hook never answers.
 */
import { rm } from 'node:fs/promises'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { hocuspocusProvider, hocuspocusSynced, provider, type RawClient, rawClient, synced, untilDoc } from '../../../load-tests/harness/clients.ts'
import { metric, tempDir } from '../../../load-tests/harness/server-process.ts'
import { CloseCodes } from '../../../shared/protocol/close-codes.ts'
import {
  decodeCloseReason,
  decodeHocuspocusFrame,
  decodeSyncStatus,
  encodeHocuspocusAuth,
  encodeHocuspocusFrame,
  encodeHocuspocusKey,
  encodeHocuspocusStateless,
  HocuspocusAuth,
  type HocuspocusFrame,
  HocuspocusType,
} from '../../../shared/protocol/hocuspocus.ts'
import { encodeAwareness, encodeSyncStep1, encodeUpdate, SyncType } from '../../../shared/protocol/messages.ts'
import { createObject, readObjects } from '../../../shared/schema/document.ts'
import { type Atrium, configWith, createAtrium, createLogger, identityOf } from '../../index.ts'
import { type InProcessServer, startInProcess } from '../../testing/in-process.ts'

const MAX_MESSAGE_BYTES = 1024
const MAX_STATELESS_BYTES = 64
const BYSTANDER_DOC = 'hp/bystander'

/** The string after an auth message's kind (the reason of a permission denied). */
function authReason(f: HocuspocusFrame): string {
  const decoder = decoding.createDecoder(f.body)
  decoding.readVarUint(decoder)
  return decoding.readVarString(decoder)
}

const is = {
  authenticated: (key: string) => (f: HocuspocusFrame) => f.key === key && f.type === HocuspocusType.Auth && f.body[0] === HocuspocusAuth.Authenticated,
  denied: (key: string) => (f: HocuspocusFrame) => f.key === key && f.type === HocuspocusType.Auth && f.body[0] === HocuspocusAuth.PermissionDenied,
  step2: (key: string) => (f: HocuspocusFrame) => f.key === key && f.type === HocuspocusType.Sync && f.body[0] === SyncType.Step2,
  applied: (key: string) => (f: HocuspocusFrame) => f.key === key && f.type === HocuspocusType.SyncStatus && decodeSyncStatus(f.body),
  closed: (key: string) => (f: HocuspocusFrame) => f.key === key && f.type === HocuspocusType.Close,
  anyOf: (key: string) => (f: HocuspocusFrame) => f.key === key,
}

/**
 * A raw socket at the Hocuspocus root that decodes every frame it receives; `next` waits for
 * (and consumes) the first frame matching, failing at once if the socket closes first.
 */
class HpRaw {
  readonly frames: HocuspocusFrame[] = []
  private readonly used = new Set<number>()

  private constructor(readonly client: RawClient) {
    client.ws.on('message', (data: Buffer) => this.frames.push(decodeHocuspocusFrame(new Uint8Array(data))))
  }

  static async open(url: string): Promise<HpRaw> {
    return new HpRaw(await rawClient(url))
  }

  send(bytes: Uint8Array): void {
    this.client.send(bytes)
  }

  /** Whether a frame matching arrived (consumed or not). */
  saw(match: (f: HocuspocusFrame) => boolean): boolean {
    return this.frames.some(match)
  }

  next(what: string, match: (f: HocuspocusFrame) => boolean, ms = 10_000): Promise<HocuspocusFrame> {
    const { ws } = this.client
    return new Promise((resolve, reject) => {
      const look = () => {
        const at = this.frames.findIndex((f, i) => !this.used.has(i) && match(f))
        if (at === -1) return
        this.used.add(at)
        stop()
        resolve(this.frames[at]!)
      }
      const closed = (code: number, reason: Buffer) => {
        stop()
        reject(new Error(`socket closed (${code} ${reason.toString()}) while waiting for ${what}`))
      }
      const timer = setTimeout(() => {
        stop()
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`))
      }, ms)
      const stop = () => {
        clearTimeout(timer)
        ws.off('message', look)
        ws.off('close', closed)
      }
      ws.on('message', look)
      ws.on('close', closed)
      look()
    })
  }

  /** Authenticates `name` (no token: open mode) and syncs it: its first step 2 arrived. */
  async openDoc(name: string): Promise<void> {
    this.send(encodeHocuspocusAuth(name, ''))
    this.send(encodeHocuspocusFrame(name, encodeSyncStep1(Y.encodeStateVector(new Y.Doc()))))
    await this.next(`authenticated ${name}`, is.authenticated(name))
    await this.next(`sync step 2 of ${name}`, is.step2(name))
  }

  /** Sends an update of `name` and waits for its SyncStatus 1 (applied and durable). */
  async write(name: string, update: Uint8Array): Promise<void> {
    this.send(encodeHocuspocusFrame(name, encodeUpdate(update)))
    await this.next(`SyncStatus 1 of ${name}`, is.applied(name))
  }

  /** The close code, once the server closed the socket (bounded). */
  async closedWith(ms = 10_000): Promise<number> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the socket was not closed within ${ms} ms`)), ms)
    })
    try {
      return (await Promise.race([this.client.closed, timeout])).code
    } finally {
      clearTimeout(timer)
    }
  }

  get open(): boolean {
    return this.client.ws.readyState === this.client.ws.OPEN
  }

  close(): void {
    this.client.ws.close()
  }
}

/** An update that sets `key` in map `m` (from a fresh client, so it never waits on anything). */
function update(key: string, value: unknown = true): Uint8Array {
  const doc = new Y.Doc()
  doc.getMap('m').set(key, value)
  return Y.encodeStateAsUpdate(doc)
}

function bytes(...parts: ((e: encoding.Encoder) => void)[]): Uint8Array {
  const e = encoding.createEncoder()
  for (const p of parts) p(e)
  return encoding.toUint8Array(e)
}

/** The server's copy of `name`, as a new y-websocket client syncs it. */
async function serverCopy(url: string, name: string): Promise<Y.Doc> {
  const reader = provider(url, name)
  try {
    await synced(reader)
    return reader.doc
  } finally {
    reader.destroy()
  }
}

describe('bad input on the Hocuspocus framing ends only what the README says', () => {
  let node: InProcessServer
  let hp: ReturnType<typeof hocuspocusProvider>
  let yws: ReturnType<typeof provider>
  let edits = 0
  const raws: HpRaw[] = []
  const raw = async () => {
    const r = await HpRaw.open(node.url)
    raws.push(r)
    return r
  }
  const ignored = (reason: string) => metric(node.http, 'atrium_hocuspocus_ignored_total', { reason })

  beforeAll(async () => {
    node = await startInProcess({ MAX_MESSAGE_BYTES, MAX_STATELESS_BYTES, HOCUSPOCUS_AUTH_TIMEOUT_S: 1 })
    hp = hocuspocusProvider(node.url, BYSTANDER_DOC)
    yws = provider(node.url, BYSTANDER_DOC)
    await Promise.all([hocuspocusSynced(hp), synced(yws)])
  })
  afterAll(async () => {
    for (const r of raws) r.close()
    hp?.destroy()
    yws?.destroy()
    await node?.close()
  })

  /** The bystanders still edit together: a fresh edit of each reaches the other. */
  async function bystandersStillEdit(): Promise<void> {
    const n = ++edits
    hp.document.getMap('m').set(`hp-${n}`, n)
    await untilDoc(yws.doc, `the Hocuspocus bystander's edit ${n}`, (d) => d.getMap('m').get(`hp-${n}`) === n)
    yws.doc.getMap('m').set(`yws-${n}`, n)
    await untilDoc(hp.document, `the y-websocket bystander's edit ${n}`, (d) => d.getMap('m').get(`yws-${n}`) === n)
    expect(hp.isSynced && yws.wsconnected).toBe(true)
  }

  const unreadable: { what: string; frame: Uint8Array }[] = [
    {
      what: 'a name whose length is larger than the frame',
      frame: bytes(
        (e) => encoding.writeVarUint(e, 1000),
        (e) => encoding.writeUint8Array(e, Uint8Array.of(97, 98)),
      ),
    },
    { what: 'an empty frame', frame: new Uint8Array(0) },
    { what: 'a name and no type', frame: encodeHocuspocusKey('hp/no-type') },
  ]
  for (const c of unreadable) {
    it(`${c.what}: the socket closes with 4400`, async () => {
      const r = await raw()
      await r.openDoc('hp/unreadable')
      r.send(c.frame)
      expect(await r.closedWith()).toBe(CloseCodes.MALFORMED_MESSAGE.code)
      await bystandersStillEdit()
    })
  }

  it('a text frame: the socket closes with 4400', async () => {
    const r = await raw()
    await r.openDoc('hp/text')
    r.client.ws.send('hello')
    expect(await r.closedWith()).toBe(CloseCodes.MALFORMED_MESSAGE.code)
    await bystandersStillEdit()
  })

  it('a frame over MAX_MESSAGE_BYTES: the socket closes with 4414', async () => {
    const r = await raw()
    await r.openDoc('hp/too-big')
    r.send(encodeHocuspocusFrame('hp/too-big', encodeUpdate(new Uint8Array(MAX_MESSAGE_BYTES + 100))))
    expect(await r.closedWith()).toBe(CloseCodes.MESSAGE_TOO_BIG.code)
    await bystandersStillEdit()
  })

  it('an invalid document name in an auth message: permission denied, the socket stays open and opens a valid document after', async () => {
    const r = await raw()
    // A document open first, so the socket is not idle whatever the machine's speed (HOCUSPOCUS_AUTH_TIMEOUT_S is 1 here).
    await r.openDoc('hp/names-first')
    const before = await ignored('invalid_name')
    const bad = ['../x', 'bad name', '', 'a//b', 'trailing/', 'x'.repeat(300)]
    for (const name of bad) r.send(encodeHocuspocusAuth(name, ''))
    for (const name of bad) {
      const denied = await r.next(`permission denied for ${JSON.stringify(name.slice(0, 20))}`, is.denied(name))
      expect(authReason(denied)).toMatch(/^invalid document name/)
    }
    expect(await ignored('invalid_name')).toBe(before + bad.length)
    await r.openDoc('hp/names-after')
    await r.write('hp/names-after', update('after-bad-names'))
    expect(r.open).toBe(true)
    await bystandersStillEdit()
  })

  it('an unknown message type for an open document: ignored and counted; the socket and the document go on', async () => {
    const r = await raw()
    const name = 'hp/unknown-type'
    await r.openDoc(name)
    const before = await ignored('unknown_type')
    r.send(encodeHocuspocusFrame(name, Uint8Array.of(42)))
    r.send(encodeHocuspocusFrame(name, Uint8Array.of(42, 1, 2, 3)))
    // The update after them is applied and acknowledged: they were passed over, in order.
    await r.write(name, update('after-unknown'))
    expect(await ignored('unknown_type')).toBe(before + 2)
    expect((await serverCopy(node.url, name)).getMap('m').get('after-unknown')).toBe(true)
    expect(r.open).toBe(true)
    await bystandersStillEdit()
  })

  it('frames for a document the socket never opened: dropped and counted; nothing of them reaches it; the socket goes on', async () => {
    const r = await raw()
    await r.openDoc('hp/opened')
    const before = await ignored('not_authenticated')
    // The bystanders' document, never authenticated on this socket: an update, a sync step 1 (it would be answered), awareness.
    const awareness = bytes(
      (e) => encoding.writeVarUint(e, 1),
      (e) => encoding.writeVarUint(e, 999),
      (e) => encoding.writeVarUint(e, 1),
      (e) => encoding.writeVarString(e, '{"intruder":true}'),
    )
    r.send(encodeHocuspocusFrame(BYSTANDER_DOC, encodeUpdate(update('intruder'))))
    r.send(encodeHocuspocusFrame(BYSTANDER_DOC, encodeSyncStep1(Y.encodeStateVector(new Y.Doc()))))
    r.send(encodeHocuspocusFrame(BYSTANDER_DOC, encodeAwareness(awareness)))
    // A round trip that comes after them on the same socket.
    await r.write('hp/opened', update('round-trip'))
    expect(r.saw(is.anyOf(BYSTANDER_DOC))).toBe(false)
    expect(await ignored('not_authenticated')).toBe(before + 3)
    expect((await serverCopy(node.url, BYSTANDER_DOC)).getMap('m').has('intruder')).toBe(false)
    expect(yws.awareness.getStates().has(999)).toBe(false)
    expect(r.open).toBe(true)
    await bystandersStillEdit()
  })

  it('frames for a document the client closed on this socket: dropped as well', async () => {
    const r = await raw()
    await r.openDoc('hp/stays')
    await r.openDoc('hp/left')
    r.send(encodeHocuspocusFrame('hp/left', Uint8Array.of(HocuspocusType.Close)))
    r.send(encodeHocuspocusFrame('hp/left', encodeUpdate(update('after-close'))))
    await r.write('hp/stays', update('round-trip'))
    expect((await serverCopy(node.url, 'hp/left')).getMap('m').has('after-close')).toBe(false)
    expect(r.open).toBe(true)
    await bystandersStillEdit()
  })

  it('an update that breaks the schema of a site document: that document gets a close message (4422), the socket and its other document go on', async () => {
    const r = await raw()
    const site = 'site/hp-schema'
    const other = 'hp/schema-other'
    await r.openDoc(site)
    await r.openDoc(other)
    const local = new Y.Doc()
    createObject(local, 'b', { type: 'building', parentId: null, name: 'HQ' })
    createObject(local, 'f', { type: 'floor', parentId: 'b', name: 'L1', level: 1, elevation: 0 })
    await r.write(site, Y.encodeStateAsUpdate(local))
    // Bypasses the helpers: a floor whose level is not an integer.
    const bad: Uint8Array[] = []
    local.on('update', (u: Uint8Array) => bad.push(u))
    local.getMap<Y.Map<unknown>>('objects').get('f')!.set('level', 1.5)
    r.send(encodeHocuspocusFrame(site, encodeUpdate(bad[0]!)))
    const closed = await r.next(`the close message of ${site}`, is.closed(site))
    expect(decodeCloseReason(closed.body)).toMatch(/^4422 /)
    await r.write(other, update('after-schema'))
    expect(r.open).toBe(true)
    const copy = await serverCopy(node.url, site)
    expect(readObjects(copy).get('f')).toMatchObject({ level: 1, name: 'L1' })
    await bystandersStillEdit()
  })

  it('a stateless message over MAX_STATELESS_BYTES: that document gets a close message (4416), the socket and its other document go on', async () => {
    const r = await raw()
    const name = 'hp/stateless'
    const other = 'hp/stateless-other'
    await r.openDoc(name)
    await r.openDoc(other)
    r.send(encodeHocuspocusStateless(name, 'x'.repeat(MAX_STATELESS_BYTES * 2)))
    const closed = await r.next(`the close message of ${name}`, is.closed(name))
    expect(decodeCloseReason(closed.body)).toMatch(/^4416 /)
    await r.write(other, update('after-stateless'))
    expect(r.open).toBe(true)
    await bystandersStillEdit()
  })

  it('a socket that opens no document within HOCUSPOCUS_AUTH_TIMEOUT_S is closed with 4408', async () => {
    const r = await raw()
    expect(await r.closedWith()).toBe(CloseCodes.CONNECTION_TIMEOUT.code)
    await bystandersStillEdit()
  })
})

describe('frames while a token is checked are bounded', () => {
  const PRELOAD_QUEUE_MESSAGES = 4
  let server: Atrium
  let dir: string
  let r: HpRaw | null = null
  beforeAll(async () => {
    dir = await tempDir()
    server = await createAtrium({
      config: configWith({ PORT: 0, HOST: '127.0.0.1', DATA_DIR: dir, PRELOAD_QUEUE_MESSAGES }),
      logger: createLogger({ level: 'silent', pretty: false }),
      // The token `never` is never answered: its document's messages wait for as long as the socket lives.
      hooks: { authenticate: ({ token }) => (token === 'never' ? new Promise<never>(() => {}) : identityOf({ sub: 'tester', docs: { '**': 'write' } })) },
    })
  })
  afterAll(async () => {
    r?.close()
    await server?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('past PRELOAD_QUEUE_MESSAGES the socket closes with 4508 (retry: the provider resyncs when it reconnects)', async () => {
    r = await HpRaw.open(`ws://127.0.0.1:${server.port}`)
    await r.openDoc('hp/quick')
    const name = 'hp/slow-token'
    r.send(encodeHocuspocusAuth(name, 'never'))
    for (let i = 0; i <= PRELOAD_QUEUE_MESSAGES; i++) r.send(encodeHocuspocusFrame(name, encodeSyncStep1(Y.encodeStateVector(new Y.Doc()))))
    expect(await r.closedWith()).toBe(CloseCodes.QUEUE_FULL.code)
    expect(r.saw(is.closed(name))).toBe(false)
  })
})
