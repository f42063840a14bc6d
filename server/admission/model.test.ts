/**
 * The integration model must place every item exactly where Yjs does, or its step counts would
 * be the work of some other algorithm. Seeded random concurrent editing (texts with formatting,
 * arrays, maps, nested types, many client ids, partial syncs), then the model's placement is
 * compared with Yjs's own after applying the same update to the same document.
 */
import * as encoding from 'lib0/encoding'
import * as prng from 'lib0/prng'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { IntegrationModel, type ModelType, OverBudget, type Node, type YType } from './model.ts'
import { scanUpdate } from './scan.ts'

type Gen = prng.PRNG

function randomEdit(gen: Gen, doc: Y.Doc): void {
  const text = doc.getText('text')
  const list = doc.getArray<unknown>('list')
  const map = doc.getMap<unknown>('map')
  switch (prng.int32(gen, 0, 9)) {
    case 0:
    case 1:
      text.insert(prng.int32(gen, 0, text.length), prng.word(gen, 1, 4))
      break
    case 2:
      if (text.length > 0) {
        const at = prng.int32(gen, 0, text.length - 1)
        text.delete(at, prng.int32(gen, 1, Math.min(3, text.length - at)))
      }
      break
    case 3:
      text.insert(prng.int32(gen, 0, text.length), prng.word(gen, 1, 3), prng.bool(gen) ? { bold: true } : { italic: prng.int32(gen, 0, 2) })
      break
    case 4:
      list.insert(prng.int32(gen, 0, list.length), [prng.int32(gen, 0, 99), prng.word(gen, 1, 2)])
      break
    case 5:
      if (list.length > 0) list.delete(prng.int32(gen, 0, list.length - 1))
      break
    case 6:
      map.set(prng.oneOf(gen, ['a', 'b', 'c', 'd']), prng.int32(gen, 0, 99))
      break
    case 7: {
      const inner = new Y.Map<unknown>()
      inner.set('x', prng.int32(gen, 0, 9))
      map.set(prng.oneOf(gen, ['m', 'n']), inner)
      break
    }
    case 8: {
      const inner = map.get(prng.oneOf(gen, ['m', 'n']))
      if (inner instanceof Y.Map) inner.set(prng.oneOf(gen, ['x', 'y', 'z']), prng.int32(gen, 0, 9))
      break
    }
    default:
      if (prng.bool(gen)) map.delete(prng.oneOf(gen, ['a', 'b', 'c', 'd', 'm', 'n']))
      else list.insert(0, [prng.int32(gen, 0, 9)])
  }
}

const sync = (from: Y.Doc, to: Y.Doc) => Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)))

/** Every clock unit of a list in order, as "client:clock". */
function realSequence(t: YType): string[] {
  const out: string[] = []
  for (let item = t._start; item; item = item.right) for (let k = 0; k < item.length; k++) out.push(`${item.id.client}:${item.id.clock + k}`)
  return out
}

function modelSequence(model: IntegrationModel, t: ModelType): string[] {
  const out: string[] = []
  for (let n: Node | null = model.startOf(t); n; n = model.rightOf(n)) for (let k = 0; k < n.len; k++) out.push(`${n.client}:${n.clock + k}`)
  return out
}

function allTypes(doc: Y.Doc): YType[] {
  const out: YType[] = []
  const visit = (t: YType) => {
    out.push(t)
    const children = (item: Y.Item | null) => {
      for (; item; item = item.right) if (item.content instanceof Y.ContentType) visit(item.content.type as YType)
    }
    children(t._start)
    for (const item of t._map.values()) {
      for (let i: Y.Item | null = item; i; i = i.left) if (i.content instanceof Y.ContentType) visit(i.content.type as YType)
    }
  }
  for (const t of doc.share.values()) visit(t)
  return out
}

/** A type's identity that survives applying the update: the real type, or the id of the item holding a new one. */
function typeKey(t: YType): unknown {
  return t._item ? `${t._item.id.client}:${t._item.id.clock}` : t
}

/**
 * Runs the model of `update` on `server`, applies it, and compares placement type by type.
 * The model reads the document lazily, so its view is taken before the document changes.
 */
function check(server: Y.Doc, update: Uint8Array): { steps: number; pending: number } {
  if (server.store.pendingStructs !== null) {
    // Yjs retries its pending structs after this update: integration the model leaves to the caller.
    Y.applyUpdate(server, update)
    return { steps: 0, pending: 0 }
  }
  const model = new IntegrationModel(server, scanUpdate(update), Number.POSITIVE_INFINITY)
  const result = model.run()
  const views = new Map<unknown, { seq: string[]; keys: Map<string, string> }>()
  const view = (m: ModelType) => {
    const keys = new Map<string, string>()
    const names = new Set([...(m.real?._map.keys() ?? []), ...m.overlayKeys()])
    for (const key of names) {
      const n = model.keyOf(m, key)
      if (n) keys.set(key, `${n.client}:${n.clock + n.len - 1}`)
    }
    return { seq: modelSequence(model, m), keys }
  }
  for (const t of allTypes(server)) views.set(typeKey(t), view(model.typeOf(t)))
  for (const [holder, m] of model.createdTypes()) views.set(`${holder.client}:${holder.clock}`, view(m))
  Y.applyUpdate(server, update)
  for (const t of allTypes(server)) {
    const seen = views.get(typeKey(t))
    if (!seen) continue // a root the update created
    const real = realSequence(t)
    if (JSON.stringify(seen.seq) !== JSON.stringify(real) && process.env.MODEL_DEBUG) {
      console.log('type', typeKey(t), '\nmodel', seen.seq.join(' '), '\nreal ', real.join(' '))
      Y.logUpdate(update)
    }
    expect(seen.seq).toEqual(real)
    for (const [key, item] of t._map) expect(seen.keys.get(key)).toBe(`${item.id.client}:${item.id.clock + item.length - 1}`)
  }
  expect(result.pendingStructs > 0).toBe(server.store.pendingStructs !== null)
  return { steps: result.steps, pending: result.pendingStructs }
}

describe('the integration model places items exactly as Yjs does', () => {
  const seeds = Number(process.env.MODEL_SEEDS ?? 150)
  it(`on ${seeds} seeded runs of concurrent edits and partial syncs`, () => {
    let totalSteps = 0
    let pendingRuns = 0
    const first = Number(process.env.MODEL_FIRST ?? 1)
    for (let seed = first; seed <= seeds; seed++) {
      const gen = prng.create(seed)
      try {
        const replicas = Array.from({ length: prng.int32(gen, 2, 5) }, () => new Y.Doc({ gc: prng.bool(gen) }))
        // Small client ids in random order, so conflicts are resolved both ways.
        for (const [k, r] of replicas.entries()) r.clientID = prng.int32(gen, 1, 40) * 10 + k
        const server = new Y.Doc()
        const logs: Uint8Array[][] = replicas.map(() => [])
        for (const [k, r] of replicas.entries()) r.on('update', (u: Uint8Array) => logs[k]!.push(u))
        for (let round = 0; round < prng.int32(gen, 3, 12); round++) {
          for (const r of replicas) for (let e = prng.int32(gen, 0, 8); e > 0; e--) randomEdit(gen, r)
          const a = prng.oneOf(gen, replicas)
          const b = prng.oneOf(gen, replicas)
          if (a !== b && prng.bool(gen)) sync(a, b)
          if (prng.int32(gen, 0, 3) === 0) {
            const r = prng.oneOf(gen, replicas)
            r.clientID = prng.int32(gen, 1, 400) * 10 + 7 // a new session of that replica
          }
          // The server hears from one replica now and then, as a diff or as one logged update.
          const r = prng.int32(gen, 0, replicas.length - 1)
          if (prng.bool(gen)) totalSteps += check(server, Y.encodeStateAsUpdate(replicas[r]!, Y.encodeStateVector(server))).steps
          else if (logs[r]!.length > 0) {
            const { pending } = check(server, prng.oneOf(gen, logs[r]!))
            if (pending > 0) pendingRuns++
          }
        }
        for (const r of replicas) totalSteps += check(server, Y.encodeStateAsUpdate(r, Y.encodeStateVector(server))).steps
      } catch (err) {
        throw new Error(`model diverged from Yjs with seed ${seed} (replay: MODEL_SEEDS=${seed}): ${(err as Error).message}`)
      }
    }
    // The runs exercised conflict scans and pending structs, not only trivial appends.
    expect(totalSteps).toBeGreaterThan(seeds)
    expect(pendingRuns).toBeGreaterThan(0)
  })
})

describe('the model counts conflict scans and stops at its budget', () => {
  /** `n` single-character inserts at the start of text `t`, one client id each. */
  function concurrentInserts(n: number, firstClient: number): Uint8Array {
    const updates: Uint8Array[] = []
    for (let i = 0; i < n; i++) {
      const d = new Y.Doc()
      d.clientID = firstClient + i
      d.getText('t').insert(0, 'x')
      updates.push(Y.encodeStateAsUpdate(d))
    }
    return Y.mergeUpdates(updates)
  }

  it('quadratic for inserts of higher client ids at a crowded position, linear for an honest append', () => {
    const doc = new Y.Doc()
    Y.applyUpdate(doc, concurrentInserts(400, 1000))
    const bomb = new IntegrationModel(doc, scanUpdate(concurrentInserts(400, 100_000)), Number.POSITIVE_INFINITY).run()
    expect(bomb.steps).toBeGreaterThanOrEqual(400 * 400)

    const honest = new Y.Doc()
    Y.applyUpdate(honest, Y.encodeStateAsUpdate(doc))
    const before = Y.encodeStateVector(honest)
    honest.getText('t').insert(200, 'a long typed sentence')
    const typed = new IntegrationModel(doc, scanUpdate(Y.encodeStateAsUpdate(honest, before)), Number.POSITIVE_INFINITY).run()
    expect(typed.steps).toBeLessThan(5)
  })

  it('throws OverBudget as soon as the work passes the budget', () => {
    const doc = new Y.Doc()
    Y.applyUpdate(doc, concurrentInserts(400, 1000))
    const model = new IntegrationModel(doc, scanUpdate(concurrentInserts(400, 100_000)), 1_000_000)
    expect(() => model.run()).toThrow(OverBudget)
  })
})

/**
 * Items no honest client writes: origins and right origins picked at random among the ids the
 * document has (far apart, in the wrong order, in the middle of other items), each from a
 * client id of its own. Placement must still match Yjs.
 */
describe('the model matches Yjs on crafted items', () => {
  function crafted(gen: Gen, ids: { client: number; clock: number }[], n: number): Uint8Array {
    const e = new Y.UpdateEncoderV1()
    const writeVarUint = (v: number) => encoding.writeVarUint(e.restEncoder, v)
    writeVarUint(n)
    const pool = [...ids]
    for (let i = 0; i < n; i++) {
      writeVarUint(1)
      const client = prng.int32(gen, 1, 2 ** 30)
      e.writeClient(client)
      writeVarUint(0)
      // Also into items of this update, whichever way Yjs's order integrates them.
      const origin = prng.bool(gen) ? prng.oneOf(gen, pool) : null
      const right = prng.bool(gen) ? prng.oneOf(gen, pool) : null
      pool.push({ client, clock: 0 })
      e.writeInfo(4 | (origin ? 128 : 0) | (right ? 64 : 0))
      if (origin) e.writeLeftID(Y.createID(origin.client, origin.clock))
      if (right) e.writeRightID(Y.createID(right.client, right.clock))
      if (!origin && !right) {
        e.writeParentInfo(true)
        e.writeString('text')
      }
      e.writeString(prng.word(gen, 1, 3))
    }
    writeVarUint(0)
    return e.toUint8Array()
  }

  it('on 300 seeded documents with random origins', () => {
    for (let seed = 1; seed <= Number(process.env.CRAFTED_SEEDS ?? 300); seed++) {
      const gen = prng.create(seed)
      const server = new Y.Doc()
      const a = new Y.Doc()
      const b = new Y.Doc()
      a.clientID = prng.int32(gen, 1, 2 ** 30)
      b.clientID = prng.int32(gen, 1, 2 ** 30)
      for (let k = 0; k < 30; k++) {
        randomEdit(gen, prng.bool(gen) ? a : b)
        if (prng.int32(gen, 0, 4) === 0) sync(a, b)
      }
      sync(a, server)
      sync(b, server)
      const ids: { client: number; clock: number }[] = []
      for (let item = server.getText('text')._start; item; item = item.right)
        for (let k = 0; k < item.length; k++) ids.push({ client: item.id.client, clock: item.id.clock + k })
      if (ids.length === 0) continue
      try {
        check(server, crafted(gen, ids, prng.int32(gen, 1, 20)))
      } catch (err) {
        throw new Error(`model diverged from Yjs on crafted items, seed ${seed}: ${(err as Error).message}`)
      }
    }
  })
})
