/**
 * The recording file of `atrium-bot record` / `replay`: JSON Lines, one self-contained line
 * per event, so a recorder only ever appends (nothing to patch up at the end) and a file cut
 * anywhere — SIGINT, SIGKILL, a full disk — is valid up to its last complete line.
 *
 *   {"atrium":"recording","version":1,"doc":"site/a","startedAt":"2026-11-29T00:00:00.000Z"}
 *   {"t":0,"k":"u","b":"<base64 Yjs update>"}
 *   {"t":41.7,"k":"a","b":"<base64 y-protocols awareness update>"}
 *
 * A header line starts a segment; `t` is ms since that segment's header. Recording into an
 * existing file appends a new segment, and a reader plays the segments one after another
 * (each shifted to start where the previous one ended). Payloads are the exact bytes the
 * Yjs and y-protocols encoders produce, so any Yjs tool can apply them. A last line without
 * its newline is a write cut short: readers skip it; a bad line anywhere else is an error.
 */
import { z } from 'zod'
import { AtriumError } from '../../shared/errors.ts'
import { decodeAwarenessUpdate } from '../../shared/protocol/awareness.ts'

export class RecordingError extends AtriumError {
  override readonly name = 'RecordingError'
}

export const RECORDING_VERSION = 1

const Header = z.strictObject({ atrium: z.literal('recording'), version: z.literal(RECORDING_VERSION), doc: z.string().min(1), startedAt: z.iso.datetime() })
export type RecordingHeader = z.infer<typeof Header>

export type EventKind = 'u' | 'a'
const Event = z.strictObject({ t: z.number().finite().nonnegative(), k: z.enum(['u', 'a']), b: z.base64() })

export interface RecordedEvent {
  /** Ms since the recording began (segments already joined). */
  readonly t: number
  /** `u`: a Yjs document update; `a`: a y-protocols awareness update. */
  readonly kind: EventKind
  readonly payload: Uint8Array
}

export function encodeHeader(doc: string, startedAt: Date): string {
  return `${JSON.stringify({ atrium: 'recording', version: RECORDING_VERSION, doc, startedAt: startedAt.toISOString() } satisfies RecordingHeader)}\n`
}

/** One event line; `t` is rounded to 0.1 ms (timing finer than that means nothing on a socket). */
export function encodeEvent(t: number, kind: EventKind, payload: Uint8Array): string {
  return `${JSON.stringify({ t: Math.round(t * 10) / 10, k: kind, b: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64') })}\n`
}

type Line = { header: RecordingHeader } | { event: { t: number; kind: EventKind; payload: Uint8Array } }

function decodeLine(line: string, lineNo: number): Line {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    throw new RecordingError(`line ${lineNo}: not JSON`)
  }
  const header = Header.safeParse(value)
  if (header.success) return { header: header.data }
  const event = Event.safeParse(value)
  if (!event.success) throw new RecordingError(`line ${lineNo}: neither a recording header nor an event (${event.error.issues[0]!.message})`)
  return { event: { t: event.data.t, kind: event.data.k, payload: new Uint8Array(Buffer.from(event.data.b, 'base64')) } }
}

export interface DecodeOptions {
  /** Whether the source ended with a newline: if not, a last line that does not parse was cut short and is skipped. */
  readonly complete?: () => boolean
  /** Called with each segment's header. */
  readonly onHeader?: (header: RecordingHeader) => void
}

/** Reads lines (e.g. a readline interface over the file) into events, segments joined into one timeline. */
export async function* decodeRecording(
  lines: AsyncIterable<string> | Iterable<string>,
  options: DecodeOptions = {},
): AsyncGenerator<RecordedEvent, void, undefined> {
  const complete = options.complete ?? (() => true)
  let lineNo = 0
  let pending: string | null = null
  let seenHeader = false
  let base = 0 // where the current segment starts on the joined timeline
  let last = 0 // the latest joined t so far
  const take = (line: string, isLast: boolean): RecordedEvent | null => {
    lineNo++
    if (line.trim() === '') return null
    let decoded: Line
    try {
      decoded = decodeLine(line, lineNo)
    } catch (err) {
      if (isLast && !complete()) return null
      throw err
    }
    if ('header' in decoded) {
      seenHeader = true
      options.onHeader?.(decoded.header)
      base = last
      return null
    }
    if (!seenHeader) throw new RecordingError(`line ${lineNo}: an event before any recording header (not an atrium-bot recording?)`)
    last = Math.max(last, base + decoded.event.t)
    return { ...decoded.event, t: base + decoded.event.t }
  }
  // One line of lookahead: only the very last line may be a cut-short write.
  for await (const line of lines) {
    if (pending !== null) {
      const e = take(pending, false)
      if (e) yield e
    }
    pending = line
  }
  if (pending !== null) {
    const e = take(pending, true)
    if (e) yield e
  }
  if (!seenHeader) throw new RecordingError('the file holds no recording header (empty, or not an atrium-bot recording)')
}

export interface AwarenessState {
  readonly clientId: number
  readonly clock: number
  /** The client's state; null when it left (or when its JSON is not an object). */
  readonly state: Record<string, unknown> | null
}

const utf8 = new TextDecoder()

/** The states in a recorded awareness update: the frame is read by shared/protocol, its JSON here. */
export function awarenessStates(update: Uint8Array): AwarenessState[] {
  return decodeAwarenessUpdate(update).map(({ clientId, clock, state: bytes }) => {
    const state = bytes === null ? null : (JSON.parse(utf8.decode(bytes)) as unknown)
    return { clientId, clock, state: typeof state === 'object' && state !== null && !Array.isArray(state) ? (state as Record<string, unknown>) : null }
  })
}
