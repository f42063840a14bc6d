/**
 * `atrium-bot replay --in FILE --doc OTHER [--speed X]`: plays a recording (recording.ts)
 * into another document, keeping its timing (divided by `--speed`).
 *
 * Updates are applied to the Site's doc as the bot's own writes (origin `site.origin`), so
 * they go out through the SDK like any local change, count as pending until the server
 * holds them, and the bot waits for that before it exits: record → replay into an empty
 * document gives the same document. (They bypass the SDK's typed helpers — they are raw
 * Yjs updates — but the server's schema guard still checks every one.)
 *
 * Awareness is not forwarded as other clients' states: the server would see one socket
 * claim many client ids, and the replayed people would linger as ghosts. Instead, with
 * `--presence first` (default) the first recorded client that showed a presence is
 * replayed as the bot's own presence, change by change (its cursor, selection, head and
 * hands move as they did); every other client's awareness is skipped and counted.
 * `--presence none` skips all awareness. A recording is input like any other and may hold
 * anything, so each state goes through `sanitizePresence` and only its valid fields are sent:
 * a state with invalid parts is trimmed to the rest, one with nothing valid is skipped (both
 * counted in the report).
 */
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import * as Y from 'yjs'
import { type BotContext, type BotReport, sleep, withSite } from './bot.ts'
import type { ReplayFlags } from './flags.ts'
import { PRESENCE_FIELDS, type PresenceField, sanitizePresence } from '../../shared/schema/presence.ts'
import { awarenessStates, decodeRecording, type RecordingHeader } from './recording.ts'

/** Whether the file ends with a newline (if not, its last line may be a write cut short). */
async function endsWithNewline(file: string): Promise<boolean> {
  const handle = await open(file, 'r')
  try {
    const { size } = await handle.stat()
    if (size === 0) return true
    const { buffer } = await handle.read(Buffer.alloc(1), 0, 1, size - 1)
    return buffer[0] === 0x0a
  } finally {
    await handle.close()
  }
}

const isPresenceField = (key: string): key is PresenceField => Object.hasOwn(PRESENCE_FIELDS, key)

/**
 * The valid part of a recorded state, to send as the bot's own: each presence field it has,
 * as `sanitizePresence` reads it, when the field is valid or the sanitizer kept part of it (a
 * selection's good ids, a pose stream's head). `invalid`: something was left out or cut down.
 */
export function ownPresence(raw: Record<string, unknown>): { state: Record<string, unknown> | null; invalid: boolean } {
  const clean = sanitizePresence(raw)
  const state: Record<string, unknown> = {}
  let invalid = false
  for (const key of Object.keys(raw)) {
    if (!isPresenceField(key)) {
      invalid = true
      continue
    }
    const exact = PRESENCE_FIELDS[key].safeParse(raw[key]).success
    const value = clean[key]
    const kept = value !== null && !(Array.isArray(value) && value.length === 0)
    if (!exact) invalid = true
    if (exact || kept) state[key] = value
  }
  return { state: invalid && Object.keys(state).length === 0 ? null : state, invalid }
}

export async function runReplay(flags: ReplayFlags, ctx: BotContext): Promise<BotReport> {
  const complete = await endsWithNewline(flags.in) // also: a missing file fails here, before connecting
  return withSite('replay', flags, ctx, async (site, stop) => {
    const counts = { updates: 0, awareness: 0, awarenessSkipped: 0, presenceTrimmed: 0, presenceInvalid: 0, recordedMs: 0 }
    const headers: RecordingHeader[] = []
    let followed: number | null = null
    const lines = createInterface({ input: createReadStream(flags.in, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY })
    const start = performance.now()
    try {
      for await (const event of decodeRecording(lines, { complete: () => complete, onHeader: (h) => headers.push(h) })) {
        if (!(await sleep(start + event.t / flags.speed - performance.now(), stop))) break
        counts.recordedMs = event.t
        if (event.kind === 'u') {
          Y.applyUpdate(site.doc, event.payload, site.origin)
          counts.updates++
          continue
        }
        for (const entry of awarenessStates(event.payload)) {
          const candidate = flags.presence === 'first' && followed === null
          if (entry.clientId !== followed && !candidate) {
            counts.awarenessSkipped++
            continue
          }
          const own = entry.state === null ? null : ownPresence(entry.state)
          if (candidate && own?.state && Object.keys(own.state).length > 0) followed = entry.clientId
          if (entry.clientId !== followed) {
            counts.awarenessSkipped++
            continue
          }
          if (own?.state === null) {
            counts.presenceInvalid++
            continue
          }
          if (own?.invalid) counts.presenceTrimmed++
          site.awareness.setLocalState(own?.state ?? null)
          counts.awareness++
        }
      }
    } finally {
      lines.close()
    }
    const from = headers[0]?.doc ?? '(unknown)'
    const speed = flags.speed === 1 ? '' : ` at ${flags.speed}×`
    return {
      stats: { ...counts, file: flags.in, recordedDoc: from, segments: headers.length, speed: flags.speed, followedClient: followed },
      summary: `replayed ${counts.updates} updates and ${counts.awareness} presence changes${followed !== null ? ` (client ${followed})` : ''} from ${from}${speed} (${(counts.recordedMs / 1000).toFixed(1)} s recorded; ${counts.awarenessSkipped} other awareness states skipped${counts.presenceInvalid + counts.presenceTrimmed > 0 ? `; invalid presence: ${counts.presenceInvalid} states skipped, ${counts.presenceTrimmed} trimmed to their valid fields` : ''})`,
    }
  })
}
