/**
 * Seeded fuzzing over real sockets: valid frames, mutated valid frames and random bytes,
 * 10,000+ in all over many connections and documents. Afterwards the process is up, every
 * document loads, and a normal client syncs and edits. Set FUZZ_SEED to replay a run.
 */
import * as encoding from 'lib0/encoding'
import * as prng from 'lib0/prng'
import { afterAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { encodeAwareness, encodeQueryAwareness, encodeSyncStep1, encodeSyncStep2, encodeUpdate } from '../shared/protocol/messages.ts'
import { encodeAwarenessUpdate } from '../shared/protocol/awareness.ts'
import { eventually, provider, rawClient, synced, untilDoc, type RawClient } from './testing/clients.ts'
import { killAllServers, metric, startServerProcess } from './testing/server-process.ts'

const FRAMES = 10_000
const DOCS = ['fuzz/a', 'fuzz/b', 'fuzz/c', 'fuzz/d']

function validFrames(gen: prng.PRNG): Uint8Array[] {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  for (let i = 0; i < 20; i++) {
    const op = prng.int32(gen, 0, 3)
    if (op === 0) doc.getMap('objects').set(prng.word(gen, 1, 6), { type: 'component', n: prng.int32(gen, 0, 1000) })
    else if (op === 1) doc.getText('t').insert(0, prng.word(gen, 1, 12))
    else if (op === 2) doc.getArray('a').push([prng.real53(gen)])
    else doc.getMap('objects').delete([...doc.getMap('objects').keys()][0] ?? 'x')
  }
  const state = JSON.stringify({ user: prng.word(gen, 3, 8), pose: [prng.real53(gen), 0, 1] })
  return [
    ...updates.map(encodeUpdate),
    encodeSyncStep1(Y.encodeStateVector(doc)),
    encodeSyncStep2(Y.encodeStateAsUpdate(doc)),
    encodeAwareness(encodeAwarenessUpdate([{ clientId: prng.uint32(gen, 1, 2 ** 31), clock: prng.uint32(gen, 0, 10), state: new TextEncoder().encode(state) }])),
    encodeQueryAwareness(),
  ]
}

function mutate(gen: prng.PRNG, frame: Uint8Array): Uint8Array {
  const out = Uint8Array.from(frame)
  switch (prng.int32(gen, 0, 4)) {
    case 0: // flip bytes
      for (let i = 0; i < prng.int32(gen, 1, 4); i++) if (out.length) out[prng.int32(gen, 0, out.length - 1)] = prng.uint32(gen, 0, 255)
      return out
    case 1: // truncate
      return out.subarray(0, prng.int32(gen, 0, Math.max(0, out.length - 1)))
    case 2: // append junk
      return Uint8Array.from([...out, ...prng.uint8Array(gen, prng.int32(gen, 1, 16))])
    case 3: // random bytes with a plausible header
      return Uint8Array.from([prng.int32(gen, 0, 3), prng.int32(gen, 0, 2), ...prng.uint8Array(gen, prng.int32(gen, 0, 64))])
    default: // pure noise
      return prng.uint8Array(gen, prng.int32(gen, 0, 128))
  }
}

describe('fuzzing the WebSocket protocol', () => {
  afterAll(() => killAllServers())

  it(`survives ${FRAMES} random and mutated frames over many connections`, async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
    console.log(`fuzz seed: ${seed} (replay with FUZZ_SEED=${seed})`)
    const gen = prng.create(seed)
    const server = await startServerProcess({ MAX_MESSAGE_BYTES: 64 * 1024 })
    try {
      let sent = 0
      let connections = 0
      const pool: RawClient[] = []
      const open = async () => {
        connections++
        return rawClient(`${server.wsUrl}/${prng.oneOf(gen, DOCS)}`)
      }
      while (sent < FRAMES) {
        while (pool.length < 16) pool.push(await open())
        const i = prng.int32(gen, 0, pool.length - 1)
        const client = pool[i]!
        if (client.ws.readyState !== client.ws.OPEN) {
          pool.splice(i, 1)
          continue
        }
        const frames = validFrames(gen)
        const burst = prng.int32(gen, 1, 20)
        for (let k = 0; k < burst && sent < FRAMES; k++, sent++) {
          const valid = prng.oneOf(gen, frames)
          client.send(prng.bool(gen) && prng.bool(gen) ? valid : mutate(gen, valid))
        }
        // Let the server answer now and then, so closes are observed and replaced.
        if (sent % 500 < burst) {
          await new Promise((r) => setImmediate(r))
          if (process.env.FUZZ_VERBOSE) console.log('sent', sent, 'connections', connections)
        }
      }
      for (const c of pool) c.ws.close()
      expect(connections).toBeGreaterThan(16)

      // The process is alive, healthy and ready.
      expect(server.proc.exitCode).toBeNull()
      expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200)
      expect((await fetch(`${server.httpUrl}/readyz`)).status).toBe(200)
      const errors = await metric(server.httpUrl, 'atrium_protocol_errors_total')
      expect(errors).toBeGreaterThan(0)

      // Every document still loads — from memory now and from storage after unload — and syncs.
      for (const name of DOCS) {
        const p = provider(server.wsUrl, name)
        await synced(p)
        p.doc.getMap('check').set('ok', name)
        const q = provider(server.wsUrl, name)
        await synced(q)
        await untilDoc(q.doc, `${name} still syncs`, (d) => d.getMap('check').get('ok') === name, 30_000)
        p.destroy()
        q.destroy()
      }
      await eventually('documents unloaded', () => metric(server.httpUrl, 'atrium_documents_loaded'), (n) => n === 0, 20_000)
      for (const name of DOCS) {
        const res = await fetch(`${server.httpUrl}/api/documents/${encodeURIComponent(name)}`)
        expect(res.status).toBe(200)
        const p = provider(server.wsUrl, name)
        await synced(p)
        expect(p.doc.getMap('check').get('ok')).toBe(name)
        p.destroy()
      }
      expect(await metric(server.httpUrl, 'atrium_storage_load_failures_total')).toBe(0)
    } catch (err) {
      console.error(`fuzz failed with seed ${seed}; server exit: ${server.proc.exitCode ?? server.proc.signalCode ?? 'running'}`)
      console.error(server.stderr.slice(-20).join('\n'))
      throw err
    }
  }, 120_000)
})
