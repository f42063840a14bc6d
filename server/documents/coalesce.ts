/**
 * Consecutive updates as few messages as is cheap: runs of small updates are merged (fewer
 * log entries, fewer frames), large ones pass through untouched, because Y.mergeUpdates
 * decodes and re-encodes everything it is given, and a large update (or the slices of one,
 * server/admission/slices.ts) gains nothing from it but work on the event loop.
 */
import * as Y from 'yjs'

/** Updates are merged in groups of at most this many bytes. */
const MERGE_MAX_BYTES = 64 * 1024

export function coalesce(updates: readonly Uint8Array[]): Uint8Array[] {
  if (updates.length === 1) return [updates[0]!]
  const out: Uint8Array[] = []
  let group: Uint8Array[] = []
  let bytes = 0
  const close = () => {
    if (group.length === 1) out.push(group[0]!)
    else if (group.length > 1) out.push(Y.mergeUpdates(group))
    group = []
    bytes = 0
  }
  for (const u of updates) {
    if (bytes + u.length > MERGE_MAX_BYTES) close()
    group.push(u)
    bytes += u.length
  }
  close()
  return out
}
