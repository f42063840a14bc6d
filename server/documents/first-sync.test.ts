/**
 * A large sync answer is cut into chunks (in Yjs's order) sent as updates and, last, the sync
 * step 2: a client applying them one by one ends with the whole document and nothing pending
 * on the way. A Connection sends such a sequence only as fast as its socket drains.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { generateSite } from '../../shared/schema/generate.ts'
import { decodeMessage } from '../../shared/protocol/messages.ts'
import { eventually } from '../../load-tests/harness/clients.ts'
import { testSession } from '../testing/session.ts'
import { writerOptions } from '../testing/writer-options.ts'
import { Connection } from '../transport/connection.ts'
import { chunk, rebase } from '../workers/compact.worker.ts'
import { SharedDoc } from './shared-doc.ts'

describe('large first syncs', () => {
  it('go as chunks a client applies in order, with nothing pending between them, the last a sync step 2', async () => {
    const doc = new SharedDoc('site/big', {
      publisher: { publish() {} },
      persist() {},
      batchBytes: 1 << 20,
      writer: writerOptions(),
      firstSync: { chunkBytes: 64 * 1024, chunk: async (update) => chunk({ update, maxWork: 64 * 1024 * 40 }) },
    })
    generateSite(doc.doc, { objects: 3000 })
    const p = testSession('site/big')
    doc.answerSyncStep1(p, Uint8Array.of(0))
    // The chunks are cut asynchronously: wait for whatever the session is sent first.
    await eventually(
      'the answer to sync step 1',
      async () => p.link.sent.length + p.link.sequences.length,
      (n) => n > 0,
      5000,
    )
    expect(p.link.sent).toEqual([])
    const [frames] = p.link.sequences
    expect(frames!.length).toBeGreaterThan(5)
    const client = new Y.Doc()
    frames!.forEach((f, k) => {
      const msg = decodeMessage(f)
      expect(msg.type).toBe(k === frames!.length - 1 ? 'sync-step2' : 'update')
      Y.applyUpdate(client, (msg as { update: Uint8Array }).update)
      expect(client.store.pendingStructs).toBeNull()
    })
    expect(Y.encodeStateVector(client)).toEqual(Y.encodeStateVector(doc.doc))
    // A small answer is one frame, as before.
    const small = new SharedDoc('doc/small', {
      publisher: { publish() {} },
      persist() {},
      batchBytes: 1 << 20,
      writer: writerOptions(),
      firstSync: { chunkBytes: 64 * 1024, chunk: async () => [] },
    })
    small.doc.getMap('m').set('a', 1)
    const q = testSession('doc/small')
    small.answerSyncStep1(q, Uint8Array.of(0))
    expect(q.link.sent.length).toBe(1)
    doc.destroy()
    small.destroy()
  })

  it('come from the warm full state of a document larger than a chunk: no encode, and later edits ride along as parts', async () => {
    let encodes = 0
    const doc = new SharedDoc('site/warm', {
      publisher: { publish() {} },
      persist() {},
      batchBytes: 1 << 20,
      writer: writerOptions(),
      firstSync: {
        chunkBytes: 64 * 1024,
        chunk: async (update) => {
          encodes++
          return chunk({ update, maxWork: 64 * 1024 * 40 })
        },
        rebase: async (updates) => rebase({ updates, maxWork: 64 * 1024 * 40 }),
      },
    })
    generateSite(doc.doc, { objects: 3000 })
    doc.doc.getMap('objects').delete([...doc.doc.getMap('objects').keys()][5]!)
    const joinAndCheck = async () => {
      const p = testSession('site/warm')
      doc.answerSyncStep1(p, Uint8Array.of(0))
      await eventually(
        'the answer to sync step 1',
        async () => p.link.sequences.length,
        (n) => n > 0,
        5000,
      )
      const [frames] = p.link.sequences
      const client = new Y.Doc()
      frames!.forEach((f, k) => {
        const msg = decodeMessage(f)
        expect(msg.type).toBe(k === frames!.length - 1 ? 'sync-step2' : 'update')
        expect(f.length).toBeLessThan(2 * 64 * 1024)
        Y.applyUpdate(client, (msg as { update: Uint8Array }).update)
      })
      expect(client.store.pendingStructs).toBeNull()
      expect(Y.encodeStateVector(client)).toEqual(Y.encodeStateVector(doc.doc))
      expect(client.getMap('objects').toJSON()).toEqual(doc.doc.getMap('objects').toJSON())
    }
    await joinAndCheck()
    doc.doc.getMap('objects').set('late', { type: 'space', parentId: null, name: 'added after the base' })
    await joinAndCheck()
    expect(encodes).toBe(0)
    doc.destroy()
  })

  it('are sent only while the socket buffers less than a megabyte, the rest on drain', () => {
    let buffered = 0
    const sent: number[] = []
    const ws = {
      send: (f: Uint8Array) => {
        sent.push(f.length)
        buffered += f.length
      },
      getBufferedAmount: () => buffered,
    }
    const conn = new Connection(1, '127.0.0.1', '/doc', () => {})
    conn.ws = ws as never
    conn.sendSequence(Array.from({ length: 8 }, () => new Uint8Array(400 * 1024)))
    expect(sent.length).toBe(3) // 0, 400 KB, 800 KB buffered before each: the fourth waits
    buffered = 0
    conn.pump() // drained
    expect(sent.length).toBe(6)
    buffered = 0
    conn.pump()
    expect(sent.length).toBe(8)
  })

  it('keep one answer queued per session: a newer one replaces what is left of the older, and an ended session’s goes', () => {
    let buffered = 0
    const sent: number[] = []
    const conn = new Connection(1, '127.0.0.1', '/', () => {})
    conn.ws = {
      send: (f: Uint8Array) => {
        sent.push(f[0]!)
        buffered += f.length
      },
      getBufferedAmount: () => buffered,
    } as never
    const frames = (tag: number) => Array.from({ length: 4 }, () => new Uint8Array(600 * 1024).fill(tag))
    const a = {}
    const b = {}
    conn.sendSequence(frames(1), a) // two go out (0 and 600 KB buffered before them), two wait
    conn.sendSequence(frames(2), b)
    conn.sendSequence(frames(3), a) // a asked again without reading: its old remainder is dropped
    conn.dropSequence(b) // b's session ended
    for (let i = 0; i < 4; i++) {
      buffered = 0
      conn.pump()
    }
    expect(sent).toEqual([1, 1, 3, 3, 3, 3])
  })
})
