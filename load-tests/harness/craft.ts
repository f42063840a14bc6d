/**
 * Updates no honest client writes, built byte by byte (Yjs v1 encoding): the cases of issue 12,
 * for the hostile-input benchmark, the regression tests and the fuzzer. Pure: yjs and lib0 only.
 */
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'

export interface CraftedItem {
  readonly client: number
  readonly clock: number
  readonly origin?: Y.ID | null
  readonly right?: Y.ID | null
  /** A root type's name, or the id of the item holding the parent type (only without origin and right). */
  readonly parent?: string | Y.ID | null
  readonly sub?: string | null
  /** Content: a string (ContentString), { any } (ContentAny), { deleted: n } (ContentDeleted), { map: true } (a new Y.Map). */
  readonly content: string | { any: unknown } | { deleted: number } | { map: true }
}

/**
 * Encodes items (grouped per client, clocks as given and contiguous) and deleted ranges as one
 * update, clients in descending order as Yjs writes them (Y.mergeUpdates assumes that order).
 */
export function encodeItems(items: readonly CraftedItem[], deletes: readonly [client: number, clock: number, len: number][] = []): Uint8Array {
  const byClient = new Map<number, CraftedItem[]>()
  for (const it of items) {
    const list = byClient.get(it.client)
    if (list) list.push(it)
    else byClient.set(it.client, [it])
  }
  const e = new Y.UpdateEncoderV1()
  encoding.writeVarUint(e.restEncoder, byClient.size)
  for (const [client, list] of [...byClient].sort(([a], [b]) => b - a)) {
    encoding.writeVarUint(e.restEncoder, list.length)
    e.writeClient(client)
    encoding.writeVarUint(e.restEncoder, list[0]!.clock)
    for (const it of list) writeItem(e, it)
  }
  const dsByClient = new Map<number, [number, number][]>()
  for (const [client, clock, len] of deletes) {
    const list = dsByClient.get(client)
    if (list) list.push([clock, len])
    else dsByClient.set(client, [[clock, len]])
  }
  encoding.writeVarUint(e.restEncoder, dsByClient.size)
  for (const [client, ranges] of dsByClient) {
    encoding.writeVarUint(e.restEncoder, client)
    encoding.writeVarUint(e.restEncoder, ranges.length)
    for (const [clock, len] of ranges) {
      encoding.writeVarUint(e.restEncoder, clock)
      encoding.writeVarUint(e.restEncoder, len)
    }
  }
  return e.toUint8Array()
}

function writeItem(e: Y.UpdateEncoderV1, it: CraftedItem): void {
  const c = it.content
  const ref = typeof c === 'string' ? 4 : 'any' in c ? 8 : 'deleted' in c ? 1 : 7
  const origin = it.origin ?? null
  const right = it.right ?? null
  e.writeInfo(ref | (origin ? 128 : 0) | (right ? 64 : 0) | (!origin && !right && it.sub ? 32 : 0))
  if (origin) e.writeLeftID(origin)
  if (right) e.writeRightID(right)
  if (!origin && !right) {
    const parent = it.parent ?? null
    if (typeof parent === 'string' || parent === null) {
      e.writeParentInfo(true)
      e.writeString(parent ?? 'root')
    } else {
      e.writeParentInfo(false)
      e.writeLeftID(parent)
    }
    if (it.sub) e.writeString(it.sub)
  }
  if (typeof c === 'string') e.writeString(c)
  else if ('any' in c) {
    encoding.writeVarUint(e.restEncoder, 1)
    encoding.writeAny(e.restEncoder, c.any as never)
  } else if ('deleted' in c) encoding.writeVarUint(e.restEncoder, c.deleted)
  else e.writeTypeRef(1)
}

/**
 * Finding 1: `n` one-character inserts at the start of text `root`, one client id each from
 * `firstClient` up. Cheap on its own (Yjs integrates the highest id first); a second batch
 * with higher ids scans every item of the first: (items there) × (new items).
 */
export function conflictBomb(n: number, firstClient: number, root = 't'): Uint8Array {
  const items: CraftedItem[] = []
  for (let i = 0; i < n; i++) items.push({ client: firstClient + i, clock: 0, parent: root, content: 'x' })
  return encodeItems(items)
}

/**
 * Quadratic within one update, so merging does not help: a chain of `chain` items (one
 * client, each after the previous, ContentAny so they never merge into one struct), and
 * `n` items of clients of their own placed at the start with the chain's end as their right
 * origin: each scans the whole chain.
 */
export function chainBomb(chain: number, n: number, root = 't', chainClient = 1, firstClient = 1000): Uint8Array {
  const items: CraftedItem[] = []
  for (let k = 0; k < chain; k++)
    items.push({ client: chainClient, clock: k, origin: k > 0 ? Y.createID(chainClient, k - 1) : null, parent: k === 0 ? root : null, content: { any: k } })
  for (let i = 0; i < n; i++) items.push({ client: firstClient + i, clock: 0, right: Y.createID(chainClient, chain - 1), content: 'x' })
  return encodeItems(items)
}

/** Finding 6: `n` client ids in about 9 bytes each (one garbage-collected struct per client: Yjs still keeps a struct list and a state-vector entry per id). */
export function clientFlood(n: number, firstClient: number): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, n)
  for (let i = n - 1; i >= 0; i--) {
    encoding.writeVarUint(e, 1)
    encoding.writeVarUint(e, firstClient + i)
    encoding.writeVarUint(e, 0)
    encoding.writeUint8(e, 0) // GC struct
    encoding.writeVarUint(e, 1)
  }
  encoding.writeVarUint(e, 0)
  return encoding.toUint8Array(e)
}

/** Finding 2: one deleted range repeated `copies` times (Yjs applies each copy; the guard once searched them all per item). */
export function deleteFlood(client: number, clock: number, len: number, copies: number): Uint8Array {
  return encodeItems(
    [],
    Array.from({ length: copies }, () => [client, clock, len] as [number, number, number]),
  )
}

/** Finding 3a: a write of deleted content after the current value of a map key (it becomes the current value). */
export function deletedContentWrite(client: number, current: Y.ID): Uint8Array {
  return encodeItems([{ client, clock: 0, origin: current, content: { deleted: 1 } }])
}

/** Finding 3b: a valid-looking value placed before the current one (Yjs deletes it), plus a delete of the current value. */
export function shadowWrite(client: number, current: Y.ID, value: unknown): Uint8Array {
  return encodeItems([{ client, clock: 0, right: current, content: { any: value } }], [[current.client, current.clock, 1]])
}
