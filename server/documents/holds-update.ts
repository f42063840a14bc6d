/**
 * Whether a document already holds everything an update carries, for a read-only session's
 * sync step 2: Hocuspocus acknowledges it (SyncStatus 1) when it brings nothing new, else
 * refuses (0), so a viewer's provider is "synced" exactly when it has no change of its own.
 *
 * Hocuspocus answers with `Y.snapshotContainsUpdate(Y.snapshot(doc), update)`, which walks the
 * whole document for every message: a viewer could make a node do that in a loop. Here the cost
 * is bounded by the message and a budget of structs visited, never by the document: an update
 * with any struct is "new" (a step 2 is computed from our state vector, so structs in it are
 * content we lack), and each deleted range is checked against the store until the budget is
 * spent (then the answer is "new", the cautious one). A step 2 always carries the client's whole
 * delete set, so this is the usual case of a viewer with nothing to say.
 */
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'

/** Structs looked at per message before answering "new". */
const VISIT_BUDGET = 10_000

export function holdsUpdate(doc: Y.Doc, update: Uint8Array, budget = VISIT_BUDGET): boolean {
  let left = budget
  try {
    const decoder = decoding.createDecoder(update)
    if (decoding.readVarUint(decoder) !== 0) return false
    const clients = decoding.readVarUint(decoder)
    for (let c = 0; c < clients; c++) {
      const client = decoding.readVarUint(decoder)
      const ranges = decoding.readVarUint(decoder)
      const structs = doc.store.clients.get(client)
      for (let r = 0; r < ranges; r++) {
        const clock = decoding.readVarUint(decoder)
        const len = decoding.readVarUint(decoder)
        if (len === 0) continue
        if (!structs || Y.getState(doc.store, client) < clock + len) return false
        const end = clock + len
        for (let i = Y.findIndexSS(structs, clock); i < structs.length; i++) {
          const struct = structs[i]!
          if (struct.id.clock >= end) break
          if (--left < 0 || !struct.deleted) return false
        }
      }
    }
    return !decoding.hasContent(decoder)
  } catch {
    // Not a V1 update we can read: not something we hold.
    return false
  }
}
