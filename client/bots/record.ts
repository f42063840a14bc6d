/**
 * `atrium-bot record --out FILE`: every update and awareness change of a document, with its
 * time, into a recording (recording.ts). The first event is the document as the server sent
 * it at the first sync, so a replay into an empty document starts from the same state.
 *
 * Each event is written with one synchronous append as it arrives: at SIGINT everything
 * received is already in the file (the handler only closes it), and even a SIGKILL loses at
 * most the line being written, which readers skip. The bot's own awareness (it shows none)
 * is not recorded. A file that exists gets a new segment appended (replay joins them).
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs'
import { encodeAwarenessUpdate } from 'y-protocols/awareness'
import { aborted, type BotContext, type BotReport, withSite } from './bot.ts'
import type { RecordFlags } from './flags.ts'
import { encodeEvent, encodeHeader, type EventKind } from './recording.ts'

type AwarenessChange = { added: number[]; updated: number[]; removed: number[] }

export async function runRecord(flags: RecordFlags, ctx: BotContext): Promise<BotReport> {
  const fd = openSync(flags.out, 'a')
  const counts = { updates: 0, awareness: 0, bytes: 0 }
  let t0 = 0
  let open = true // events that arrive while the site closes are after the report: not written
  const write = (kind: EventKind, payload: Uint8Array) => {
    if (!open) return
    const line = encodeEvent(performance.now() - t0, kind, payload)
    counts.bytes += writeSync(fd, line)
    counts[kind === 'u' ? 'updates' : 'awareness']++
  }
  try {
    return await withSite(
      'record',
      flags,
      ctx,
      async (_site, stop) => {
        await aborted(stop)
        fsyncSync(fd)
        return {
          stats: { ...counts, file: flags.out },
          summary: `recorded ${counts.updates} updates and ${counts.awareness} awareness changes (${(counts.bytes / 1024).toFixed(1)} KiB) into ${flags.out}`,
        }
      },
      {
        // Listening before the first sync: the sync's update is the recording's starting state.
        beforeSync: (site) => {
          counts.bytes += writeSync(fd, encodeHeader(flags.doc, new Date()))
          t0 = performance.now()
          site.doc.on('update', (update: Uint8Array) => write('u', update))
          site.awareness.on('change', ({ added, updated, removed }: AwarenessChange) => {
            const clients = [...added, ...updated, ...removed].filter((c) => c !== site.awareness.clientID)
            if (clients.length === 0) return
            write('a', encodeAwarenessUpdate(site.awareness, clients))
          })
          // The recorder shows no presence of its own (the y-protocols default is an empty state).
          site.awareness.setLocalState(null)
        },
      },
    )
  } finally {
    open = false
    closeSync(fd)
  }
}
