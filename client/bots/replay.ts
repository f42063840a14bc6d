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
 * `--presence none` skips all awareness.
 */
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import * as Y from 'yjs'
import { type BotContext, type BotReport, sleep, withSite } from './bot.ts'
import type { ReplayFlags } from './flags.ts'
import { decodeAwarenessUpdate, decodeRecording, type RecordingHeader } from './recording.ts'

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

export async function runReplay(flags: ReplayFlags, ctx: BotContext): Promise<BotReport> {
  const complete = await endsWithNewline(flags.in) // also: a missing file fails here, before connecting
  return withSite('replay', flags, ctx, async (site, stop) => {
    const counts = { updates: 0, awareness: 0, awarenessSkipped: 0, recordedMs: 0 }
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
        for (const entry of decodeAwarenessUpdate(event.payload)) {
          if (flags.presence === 'first' && followed === null && entry.state !== null && Object.keys(entry.state).length > 0) followed = entry.clientId
          if (entry.clientId !== followed) {
            counts.awarenessSkipped++
            continue
          }
          site.awareness.setLocalState(entry.state)
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
      summary: `replayed ${counts.updates} updates and ${counts.awareness} presence changes${followed !== null ? ` (client ${followed})` : ''} from ${from}${speed} (${(counts.recordedMs / 1000).toFixed(1)} s recorded; ${counts.awarenessSkipped} other awareness states skipped)`,
    }
  })
}
