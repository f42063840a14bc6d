/**
 * `npm run seed -- --url ws://127.0.0.1:1234 --doc site/demo --objects 100000`
 *
 * Connects as an ordinary y-websocket client and builds a realistic site in the document
 * (shared/schema/generate.ts: floors, zones, MEP systems, components, connections, spaces,
 * XR anchors, digital humans), in updates of `--batch` objects. Then it checks through a
 * second connection that the server holds every object. Refuses a document that already
 * has objects. Exit 0 when done, 1 on failure (with the server's close reason), 2 for bad flags.
 */
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { z } from 'zod'
import { checkDocName } from '../../shared/protocol/doc-name.ts'
import { generateSite } from '../../shared/schema/generate.ts'

const USAGE = 'usage: npm run seed -- --url ws://host:port --doc site/<id> [--objects 10000] [--anchors N] [--humans 3] [--batch 2000] [--seed 1]'

const Flags = z.object({
  url: z.string().regex(/^wss?:\/\/\S+$/, 'a ws:// or wss:// URL'),
  doc: z.string().refine((d) => checkDocName(d).ok, 'a valid document name'),
  objects: z.coerce.number().int().min(1).max(2_000_000),
  anchors: z.coerce.number().int().min(0).max(1_000_000).optional(),
  humans: z.coerce.number().int().min(0).max(1000).optional(),
  batch: z.coerce.number().int().min(1).max(100_000),
  seed: z.coerce.number().int(),
})

function connect(url: string, name: string, doc: Y.Doc): WebsocketProvider {
  return new WebsocketProvider(url, name, doc, { WebSocketPolyfill: WebSocket as never, disableBc: true, maxBackoffTime: 1000 })
}

function whenSynced(p: WebsocketProvider, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (p.synced) return resolve()
    const timer = setTimeout(() => reject(new Error(`no sync with ${p.url} within ${timeoutMs} ms`)), timeoutMs)
    p.once('sync', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

export async function seed(flags: z.infer<typeof Flags>, log: (line: string) => void): Promise<void> {
  const doc = new Y.Doc()
  const p = connect(flags.url, flags.doc, doc)
  let closedWith: string | null = null
  p.on('connection-close', (e: CloseEvent | null) => {
    if (e && e.code >= 4000) closedWith = `server closed the connection: ${e.code} ${e.reason}`
  })
  try {
    await whenSynced(p, 15_000)
    const existing = doc.getMap('objects').size
    if (existing > 0) throw new Error(`${flags.doc} already has ${existing} objects; seed an empty document`)
    const started = performance.now()
    const summary = generateSite(doc, { objects: flags.objects, anchors: flags.anchors, humans: flags.humans, batch: flags.batch, seed: flags.seed })
    // Everything handed to the socket; then a second connection proves the server has it.
    while ((p.ws?.bufferedAmount ?? 0) > 0 && !closedWith) await new Promise((r) => setTimeout(r, 20))
    const check = new Y.Doc()
    const verify = connect(flags.url, flags.doc, check)
    try {
      const deadline = Date.now() + 120_000
      while (check.getMap('objects').size < flags.objects) {
        if (closedWith) throw new Error(closedWith)
        if (Date.now() > deadline) throw new Error(`the server holds ${check.getMap('objects').size} of ${flags.objects} objects after 120 s`)
        await new Promise((r) => setTimeout(r, 50))
      }
    } finally {
      verify.destroy()
    }
    const ms = performance.now() - started
    log(
      `seeded ${flags.doc}: ${flags.objects} objects (${Object.entries(summary.counts)
        .map(([t, n]) => `${n} ${t}`)
        .join(
          ', ',
        )}) on ${summary.floors} floors, ${summary.anchors} anchors, ${summary.humans} humans in ${(ms / 1000).toFixed(1)} s; ${(Y.encodeStateAsUpdate(doc).length / 1024 / 1024).toFixed(1)} MiB`,
    )
  } finally {
    p.destroy()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      doc: { type: 'string' },
      objects: { type: 'string', default: '10000' },
      anchors: { type: 'string' },
      humans: { type: 'string' },
      batch: { type: 'string', default: '2000' },
      seed: { type: 'string', default: '1' },
    },
    strict: true,
  })
  const parsed = Flags.safeParse(values)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    process.stderr.write(`--${issue.path.join('.')}: ${issue.message}\n${USAGE}\n`)
    process.exit(2)
  }
  seed(parsed.data, (line) => process.stdout.write(`${line}\n`)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`seed failed: ${(err as Error).message}\n`)
      process.exit(1)
    },
  )
}
