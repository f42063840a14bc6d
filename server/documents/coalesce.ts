/**
 * Consecutive updates as few messages as is cheap: runs of small updates are merged (fewer
 * log entries, fewer frames), large ones pass through untouched, because Y.mergeUpdates
 * decodes and re-encodes everything it is given, and a large update (or the slices of one,
 * server/admission/slices.ts) gains nothing from it but work on the event loop.
 *
 * A merge costs tens of microseconds even for two tiny updates; what it saves is one message per
 * update merged away, per receiver. So the caller says from how many updates a group is worth
 * merging (`minGroup`): a document with 4 readers sends 2 updates as they are, one with 49 merges them.
 */
import * as Y from 'yjs'

/** Updates are merged in groups of at most this many bytes. */
const MERGE_MAX_BYTES = 64 * 1024

/**
 * The group size from which merging beats sending each update to `receivers` (about one merge
 * of small updates for 16 sends, measured with npm run bench scenarios 1 and 3).
 */
export function mergeFrom(receivers: number): number {
  return receivers <= 0 ? Number.POSITIVE_INFINITY : Math.max(2, Math.ceil(MERGE_BREAK_EVEN_SENDS / receivers) + 1)
}
const MERGE_BREAK_EVEN_SENDS = 16

export function coalesce(updates: readonly Uint8Array[], minGroup = 2): Uint8Array[] {
  if (updates.length < Math.max(2, minGroup)) return [...updates]
  const out: Uint8Array[] = []
  let group: Uint8Array[] = []
  let bytes = 0
  const close = () => {
    if (group.length >= Math.max(2, minGroup)) out.push(Y.mergeUpdates(group))
    else out.push(...group)
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
