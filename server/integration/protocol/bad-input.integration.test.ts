import * as encoding from 'lib0/encoding'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { CloseCodes } from '../../../shared/protocol/close-codes.ts'
import { encodeSyncStep1, encodeUpdate } from '../../../shared/protocol/messages.ts'
import { provider, rawClient, synced, untilDoc } from '../../../load-tests/harness/clients.ts'
import { killAllServers, metric, startServerProcess, type ServerProcess } from '../../../load-tests/harness/server-process.ts'

const MAX = 64 * 1024

function frame(...parts: ((e: encoding.Encoder) => void)[]): Uint8Array {
  const e = encoding.createEncoder()
  for (const p of parts) p(e)
  return encoding.toUint8Array(e)
}

describe('bad input closes only the offending connection, with its documented code', () => {
  let server: ServerProcess
  const doc = 'doc/bad-input'
  beforeAll(async () => {
    server = await startServerProcess({ MAX_MESSAGE_BYTES: MAX })
  })
  afterAll(() => killAllServers())

  /** A well-behaved editor that must be unaffected by everything below. */
  async function bystander() {
    const p = provider(server.wsUrl, doc)
    await synced(p)
    return p
  }

  const cases: { what: string; bytes: () => Uint8Array; code: number }[] = [
    { what: 'an empty frame', bytes: () => new Uint8Array(0), code: CloseCodes.MALFORMED_MESSAGE.code },
    { what: 'a truncated sync frame', bytes: () => encodeSyncStep1(Y.encodeStateVector(new Y.Doc())).subarray(0, 2), code: CloseCodes.MALFORMED_MESSAGE.code },
    {
      what: 'a length prefix larger than the frame',
      bytes: () =>
        frame(
          (e) => encoding.writeVarUint(e, 0),
          (e) => encoding.writeVarUint(e, 2),
          (e) => encoding.writeVarUint(e, 1_000_000),
        ),
      code: CloseCodes.MALFORMED_MESSAGE.code,
    },
    { what: 'trailing garbage', bytes: () => Uint8Array.from([...encodeSyncStep1(new Uint8Array([0])), 7, 7]), code: CloseCodes.MALFORMED_MESSAGE.code },
    { what: 'a garbled state vector in sync step 1', bytes: () => encodeSyncStep1(Uint8Array.of(3, 200)), code: CloseCodes.MALFORMED_MESSAGE.code },
    { what: 'an unknown message type', bytes: () => Uint8Array.of(42), code: CloseCodes.UNKNOWN_MESSAGE_TYPE.code },
    {
      what: 'an unknown sync type',
      bytes: () =>
        frame(
          (e) => encoding.writeVarUint(e, 0),
          (e) => encoding.writeVarUint(e, 9),
          (e) => encoding.writeVarUint8Array(e, new Uint8Array(1)),
        ),
      code: CloseCodes.UNKNOWN_MESSAGE_TYPE.code,
    },
    { what: 'an update Yjs cannot decode', bytes: () => encodeUpdate(Uint8Array.from([5, 200, 1, 2, 3, 4, 5, 6, 7, 8])), code: CloseCodes.INVALID_UPDATE.code },
    {
      what: 'a garbled awareness update',
      bytes: () =>
        frame(
          (e) => encoding.writeVarUint(e, 1),
          (e) => encoding.writeVarUint8Array(e, Uint8Array.of(3, 1)),
        ),
      code: CloseCodes.INVALID_AWARENESS.code,
    },
    { what: 'a frame over MAX_MESSAGE_BYTES', bytes: () => encodeUpdate(new Uint8Array(MAX + 10)), code: CloseCodes.MESSAGE_TOO_BIG.code },
  ]

  for (const c of cases) {
    it(`${c.what} → ${c.code}`, async () => {
      const editor = await bystander()
      const before = editor.doc.getMap('m').size
      const bad = await rawClient(`${server.wsUrl}/${doc}`)
      bad.send(c.bytes())
      const { code, reason } = await bad.closed
      expect(code).toBe(c.code)
      expect(reason.length).toBeGreaterThan(0)
      // Everyone else carries on: the bystander still edits, and a new client sees it.
      editor.doc.getMap('m').set(`after-${c.code}-${before}`, true)
      const check = provider(server.wsUrl, doc)
      await synced(check)
      await untilDoc(check.doc, 'edit after bad input', (d) => d.getMap('m').size === before + 1)
      expect(editor.wsconnected).toBe(true)
      editor.destroy()
      check.destroy()
    })
  }

  it('a text frame is refused as malformed', async () => {
    const bad = await rawClient(`${server.wsUrl}/${doc}`)
    bad.ws.send('hello')
    expect((await bad.closed).code).toBe(CloseCodes.MALFORMED_MESSAGE.code)
  })

  for (const name of ['bad name', 'a//b', 'trailing/', 'emoji-😀', 'x'.repeat(300), '%E0%A4%A']) {
    it(`invalid document name ${JSON.stringify(name.slice(0, 20))} → ${CloseCodes.INVALID_DOCUMENT_NAME.code}`, async () => {
      const bad = await rawClient(`${server.wsUrl}/${name.replace(' ', '%20')}`)
      expect((await bad.closed).code).toBe(CloseCodes.INVALID_DOCUMENT_NAME.code)
    })
  }

  it('counts every rejection in /metrics, logs them (at most a line a second per address), and the process is still up', async () => {
    expect(await metric(server.httpUrl, 'atrium_protocol_errors_total', { reason: 'MESSAGE_TOO_BIG' })).toBeGreaterThanOrEqual(1)
    expect(await metric(server.httpUrl, 'atrium_protocol_errors_total')).toBeGreaterThanOrEqual(cases.length + 7)
    const closing = server.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('closing connection'))
    expect(closing.length).toBeGreaterThanOrEqual(1)
    expect(closing.every((l) => typeof l.code === 'number' && typeof l.detail === 'string')).toBe(true)
    expect(server.proc.exitCode).toBeNull()
    expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200)
  })
})
