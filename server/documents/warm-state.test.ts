/**
 * The warm full state: what it answers always rebuilds the document, an oversized part (an
 * upload) waits for the rebase that merges it, parts are merged before they pile up, and a
 * failed rebase hands the answer back to an encode. The rebase here merges on the calling
 * thread (the server's runs in a worker); its chunks are cut in halves.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { rebase } from '../workers/compact.worker.ts'
import { WarmState } from './warm-state.ts'

/** A WarmState fed by `doc`'s updates, whose rebase is a merge (then held until `release`). */
function warmOf(doc: Y.Doc, chunkBytes = 1024) {
  let rebases = 0
  let hold: Promise<void> = Promise.resolve()
  let release = () => {}
  let fail = false
  const warm = new WarmState({
    chunkBytes,
    rebase: async (updates) => {
      rebases++
      await hold
      if (fail) throw new Error('worker gone')
      return [Y.mergeUpdates(updates)]
    },
  })
  doc.on('update', (u: Uint8Array) => warm.add(u))
  return {
    warm,
    rebases: () => rebases,
    holdRebases: () => {
      hold = new Promise((r) => (release = r))
    },
    release: () => release(),
    failRebases: () => (fail = true),
  }
}

/** A fresh document built from an answer. */
function rebuilt(payloads: Uint8Array[] | null | undefined): Y.Doc {
  const doc = new Y.Doc()
  for (const p of payloads ?? []) Y.applyUpdate(doc, p)
  return doc
}

describe('the warm full state', () => {
  it('answers with parts that rebuild the document, and merges them before they pile up', async () => {
    const doc = new Y.Doc()
    const w = warmOf(doc)
    const text = doc.getText('t')
    for (let i = 0; i < 600; i++) text.insert(i, 'x')
    doc.getMap('m').set('k', 'v')
    text.delete(0, 100)
    await new Promise((r) => setImmediate(r)) // the (synchronous) rebase's promise settles
    const answer = await w.warm.answer()
    expect(rebuilt(answer).getText('t').toString()).toBe(text.toString())
    expect(rebuilt(answer).getMap('m').get('k')).toBe('v')
    // 600 parts passed REBASE_PARTS: merged into the base instead of being kept one by one.
    expect(w.rebases()).toBeGreaterThan(0)
    expect(answer!.length).toBeLessThan(600)
  })

  it('makes a joiner wait for the rebase of a part larger than a chunk, shared by every joiner meanwhile', async () => {
    const doc = new Y.Doc()
    const w = warmOf(doc, 64)
    w.holdRebases()
    doc.getText('t').insert(0, 'y'.repeat(500)) // one update, larger than a chunk: an upload
    const answers = [w.warm.answer(), w.warm.answer()]
    let settled = false
    void Promise.all(answers).then(() => (settled = true))
    await Promise.resolve()
    expect(settled).toBe(false)
    doc.getMap('m').set('during', 1) // arrives while the worker merges: stays a part
    w.release()
    const [a, b] = await Promise.all(answers)
    expect(w.rebases()).toBe(1)
    for (const answer of [a, b]) {
      expect(answer!.every((p) => p.length <= 600)).toBe(true)
      expect(rebuilt(answer).getText('t').length).toBe(500)
      expect(rebuilt(answer).getMap('m').get('during')).toBe(1)
    }
  })

  it('answers null once a rebase failed, so the document is encoded instead', async () => {
    const doc = new Y.Doc()
    const w = warmOf(doc, 64)
    w.failRebases()
    doc.getText('t').insert(0, 'z'.repeat(500))
    expect(await w.warm.answer()).toBeNull()
    // And it does not ask the worker again for every change.
    const before = w.rebases()
    for (let i = 0; i < 10; i++) doc.getText('t').insert(0, 'z'.repeat(100))
    expect(w.rebases()).toBe(before)
    expect(await w.warm.answer()).toBeNull()
  })

  it('keeps no deleted content past a rebase (the worker applies the parts and re-encodes), and stops growing once broken', async () => {
    const doc = new Y.Doc()
    const warm = new WarmState({ chunkBytes: 64 * 1024, rebase: async (updates) => rebase({ updates, maxWork: 64 * 1024 * 40 }) })
    doc.on('update', (u: Uint8Array) => warm.add(u))
    const text = doc.getText('t')
    for (let i = 0; i < 10; i++) {
      text.insert(0, 'p'.repeat(200 * 1024)) // a paste
      text.delete(0, 200 * 1024) // and its removal
    }
    text.insert(0, 'kept')
    const answer = await warm.answer()
    expect(rebuilt(answer).getText('t').toString()).toBe('kept')
    // 2 MB were pasted and removed: what is kept is about the document, not its history.
    expect(warm.bytes).toBeLessThan(64 * 1024)

    const failing = new WarmState({ chunkBytes: 64, rebase: async () => Promise.reject(new Error('worker gone')) })
    failing.add(new Uint8Array(100))
    expect(await failing.answer()).toBeNull()
    expect(failing.usable).toBe(false)
    failing.add(new Uint8Array(100))
    expect(failing.bytes).toBe(0)
  })
})
