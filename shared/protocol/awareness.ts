/**
 * Awareness relay codec. The server never needs awareness *content*, only who sent what at
 * which clock, so it relays the state bytes verbatim: never re-encoded, and checked to be JSON
 * once, where a client's message is received (server/documents/awareness-relay.ts), not on
 * every node it passes. Wire format is y-protocols' awareness update:
 *   varUint count, then per entry: varUint clientID, varUint clock, varString JSON state
 * A removed client's state is the JSON literal `null`.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

export interface AwarenessEntry {
  readonly clientId: number
  readonly clock: number
  /** UTF-8 JSON bytes of the state exactly as received; `null` when the client is gone. */
  readonly state: Uint8Array | null
}

const NULL_JSON = new TextEncoder().encode('null')

function isNullJson(bytes: Uint8Array): boolean {
  return bytes.length === 4 && bytes[0] === NULL_JSON[0] && bytes[1] === NULL_JSON[1] && bytes[2] === NULL_JSON[2] && bytes[3] === NULL_JSON[3]
}

/**
 * Decodes an awareness update; throws on any defect (the caller maps that to a close code),
 * and before reading any entry when there are more than `maxEntries`.
 */
export function decodeAwarenessUpdate(update: Uint8Array, maxEntries = Number.POSITIVE_INFINITY): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update)
  const count = decoding.readVarUint(decoder)
  // Every entry takes at least 3 bytes: a count beyond that is garbage, not a reason to allocate.
  if (count > update.length) throw new Error(`awareness update claims ${count} entries in ${update.length} bytes`)
  if (count > maxEntries) throw new Error(`${count} entries in one message (at most ${maxEntries})`)
  const entries: AwarenessEntry[] = []
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder)
    const clock = decoding.readVarUint(decoder)
    const state = decoding.readVarUint8Array(decoder)
    entries.push({ clientId, clock, state: isNullJson(state) ? null : state })
  }
  if (decoding.hasContent(decoder)) throw new Error('trailing bytes after awareness update')
  return entries
}

export function encodeAwarenessUpdate(entries: Iterable<AwarenessEntry>): Uint8Array {
  const list = [...entries]
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, list.length)
  for (const { clientId, clock, state } of list) {
    encoding.writeVarUint(encoder, clientId)
    encoding.writeVarUint(encoder, clock)
    encoding.writeVarUint8Array(encoder, state ?? NULL_JSON)
  }
  return encoding.toUint8Array(encoder)
}
