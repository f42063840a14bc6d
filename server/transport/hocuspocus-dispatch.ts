/**
 * One message of a served Hocuspocus session (its routing key taken off), to its document.
 * Sync, awareness and query-awareness are y-websocket messages and go through dispatch.ts;
 * what Hocuspocus adds is handled here:
 * - A sync step 1 is answered as Hocuspocus does, with the step 2 and our own step 1 (the
 *   provider counts one unsynced change from its step 1 until its step 2 is acknowledged).
 * - A sync step 2 or update of a writer is acknowledged (SyncStatus 1) once durable
 *   (durable-acks.ts), after the writer applied it; a read-only session's is answered at once:
 *   1 when it brings nothing new (holds-update.ts), else 0 — it is never applied.
 * - Stateless messages go to the document's other Hocuspocus sessions on every node
 *   (broadcast: to the sender too), within the session's awareness budget and
 *   MAX_STATELESS_BYTES; the embedding's onStateless hears each once, on the node it arrived at.
 * - A close ends the session; the socket and its other documents go on.
 * Unknown types are counted and ignored, as Hocuspocus ignores them (a newer provider may send some).
 */
import { CloseCodes } from '../../shared/protocol/close-codes.ts'
import { decodeStatelessPayload, encodeStatelessMessage, encodeSyncStatus, HocuspocusFrameError, HocuspocusType } from '../../shared/protocol/hocuspocus.ts'
import { decodeMessage, SyncType } from '../../shared/protocol/messages.ts'
import type { Identity } from '../auth/claims.ts'
import type { DurableAcks } from '../documents/durable-acks.ts'
import { holdsUpdate } from '../documents/holds-update.ts'
import type { Metrics } from '../metrics.ts'
import { dispatchMessage, type Rejection } from './dispatch.ts'
import type { HpLink } from './hocuspocus.ts'

export interface HpDispatchDeps {
  readonly metrics: Metrics
  readonly acks: DurableAcks
  readonly maxStatelessBytes: number
  /** The embedding's hook: a client's stateless message for `name` (after it was relayed). */
  readonly onStateless?: ((name: string, payload: string, from: Identity) => void) | undefined
}

export function dispatchHocuspocus(link: HpLink, message: Uint8Array, deps: HpDispatchDeps): Rejection | null {
  const type = message[0]!
  switch (type) {
    case HocuspocusType.Sync:
    case HocuspocusType.SyncReply:
      return sync(link, type === HocuspocusType.SyncReply ? asSync(message) : message, type, deps)
    case HocuspocusType.Awareness:
    case HocuspocusType.QueryAwareness:
      return dispatchMessage(link.session, link.session.doc!, message, deps.metrics)
    case HocuspocusType.Stateless:
    case HocuspocusType.BroadcastStateless:
      return stateless(link, message.subarray(1), type === HocuspocusType.BroadcastStateless, deps)
    case HocuspocusType.Close:
      link.leave()
      return null
    default:
      // Auth again (a provider re-created fast), or a type of a newer provider.
      deps.metrics.hocuspocusIgnored.inc({ reason: type === HocuspocusType.Auth ? 'auth_again' : 'unknown_type' })
      return null
  }
}

/** A sync reply as the sync message it carries (a copy: the caller's frame is never edited). */
function asSync(message: Uint8Array): Uint8Array {
  const copy = message.slice()
  copy[0] = HocuspocusType.Sync
  return copy
}

function sync(link: HpLink, message: Uint8Array, type: number, deps: HpDispatchDeps): Rejection | null {
  const { session } = link
  const doc = session.doc!
  // message[1] is the sync type (one byte: 0, 1 or 2); anything else is refused by decodeMessage.
  const syncType = message[1]
  const writes = syncType === SyncType.Step2 || syncType === SyncType.Update
  if (writes && !session.rights.write) return readOnly(link, message, syncType, deps)
  const rejection = dispatchMessage(session, doc, message, deps.metrics)
  if (rejection) return rejection
  if (syncType === SyncType.Step1 && type === HocuspocusType.Sync) doc.sendStateVector(session)
  if (writes) acknowledge(link, deps)
  return null
}

/** SyncStatus 1 once the update is applied and durable (an update may be applied over later turns: the writer's wait keeps the order). */
function acknowledge(link: HpLink, deps: HpDispatchDeps): void {
  const { session } = link
  const writer = session.doc!.writer
  const applied = performance.now()
  const ack = () =>
    deps.acks.whenDurable(() => {
      if (link.closed) return
      link.sendFrame(encodeSyncStatus(link.key, true))
      deps.metrics.durableAckWait.observe((performance.now() - applied) / 1000)
    })
  // An update that became a job (admitted and applied over later turns) is not applied yet, nor
  // counted in the watermark's `handed`: the acknowledgement waits for the job, behind it.
  if (!writer.busy && !writer.mustWait(session)) return ack()
  if (!writer.defer(session, 0, ack)) link.refuse({ kind: 'limit', limit: 'queue', detail: 'too many messages waiting behind a large update' })
}

function readOnly(link: HpLink, message: Uint8Array, syncType: number | undefined, deps: HpDispatchDeps): Rejection | null {
  let update: Uint8Array
  try {
    const msg = decodeMessage(message)
    if (msg.type !== 'sync-step2' && msg.type !== 'update') return null
    update = msg.update
  } catch (err) {
    return { code: CloseCodes.MALFORMED_MESSAGE, detail: (err as Error).message }
  }
  deps.metrics.updatesIgnored.inc({ reason: 'read_only' })
  const holds = syncType === SyncType.Step2 && holdsUpdate(link.session.doc!.doc, update)
  link.sendFrame(encodeSyncStatus(link.key, holds))
  return null
}

function stateless(link: HpLink, body: Uint8Array, broadcast: boolean, deps: HpDispatchDeps): Rejection | null {
  const { session } = link
  if (!session.rights.awareness) {
    deps.metrics.hocuspocusIgnored.inc({ reason: 'stateless_without_right' })
    return null
  }
  if (body.length > deps.maxStatelessBytes)
    return { code: CloseCodes.STATELESS_REFUSED, detail: `${body.length} bytes > ${deps.maxStatelessBytes} (MAX_STATELESS_BYTES)` }
  let payload: string
  try {
    payload = decodeStatelessPayload(body)
  } catch (err) {
    if (err instanceof HocuspocusFrameError) return { code: CloseCodes.MALFORMED_MESSAGE, detail: err.message }
    throw err
  }
  if (!link.takeAwareness()) return { code: CloseCodes.RATE_LIMITED, detail: 'over MAX_AWARENESS_PER_S (stateless messages count as awareness)' }
  deps.metrics.statelessMessages.inc()
  session.doc!.relayStateless(encodeStatelessMessage(payload), broadcast ? undefined : session)
  deps.onStateless?.(session.docName, payload, session.identity)
  return null
}
