/**
 * Memory per loaded document, as a multiple of its encoded size: site documents of 10,000 and
 * 100,000 objects (shared/schema/generate.ts, the editor's kind of building) uploaded to a fresh
 * server process each, and held loaded; RSS before and 10 s after (the warm state merged, idle
 * worker threads gone), per document. Atrium and Hocuspocus 3.4.4 in the same run.
 *   npm run bench:memory [-- --docs 10k:8,100k:2]
 */
import * as Y from 'yjs'
import { generateSite } from '../../shared/schema/generate.ts'
import { openDocument, untilObjects } from './first-open-client.ts'
import { atriumTarget, type BenchTarget, peerTarget } from './targets.ts'
import { rssBytes } from './proc.ts'

const docsArg = process.argv.indexOf('--docs')
const plan = (docsArg === -1 ? '10k:8,100k:2' : process.argv[docsArg + 1]!).split(',').map((p) => {
  const [size, count] = p.split(':')
  return { objects: Number(size!.replace('k', '000')), count: Number(count) }
})

const targets: Record<string, () => Promise<BenchTarget>> = {
  // A 100,000-object site is one update of about 1.5 million structs: over the client bounds, raised here for the upload.
  Atrium: () =>
    atriumTarget({
      MAX_MESSAGE_BYTES: 256 * 1024 * 1024,
      MAX_UPDATE_STRUCTS: 10_000_000,
      MAX_UPDATE_WORK_MS: 600_000,
      MAX_UPDATE_CONFLICT_STEPS: 1_000_000_000,
      SCHEMA_DOCS: '^$',
    }),
  'Hocuspocus 3.4.4': () => peerTarget('hocuspocus'),
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function measure(t: BenchTarget, objects: number, count: number) {
  await settle(2000)
  const before = rssBytes(t.pid)
  let encoded = 0
  const open = []
  for (let i = 0; i < count; i++) {
    const doc = new Y.Doc()
    generateSite(doc, { objects, seed: i + 1 })
    encoded += Y.encodeStateAsUpdate(doc).length
    // A watcher joins the empty document, then a client uploads it and stays (it stays loaded).
    const name = `memory/${objects}/${i}`
    const watcher = await openDocument(t.url, name, t.protocol, 300_000)
    const landed = untilObjects(watcher, doc.getMap('objects').size)
    open.push(await openDocument(t.url, name, t.protocol, 300_000, doc))
    await landed
    watcher.ws.close()
  }
  await settle(10_000)
  const after = rssBytes(t.pid)
  for (const o of open) o.ws.close()
  const perDoc = (after - before) / count
  return {
    objects,
    count,
    encodedMiB: +(encoded / count / 2 ** 20).toFixed(2),
    rssMiBPerDoc: +(perDoc / 2 ** 20).toFixed(1),
    multiple: +(perDoc / (encoded / count)).toFixed(1),
  }
}

const rows: string[] = ['| Server | objects | documents | encoded (MiB each) | RSS per document (MiB) | × encoded |', '|---|---|---|---|---|---|']
for (const { objects, count } of plan) {
  for (const [name, start] of Object.entries(targets)) {
    const t = await start()
    try {
      const r = await measure(t, objects, count)
      rows.push(`| ${name} | ${objects.toLocaleString('en-US')} | ${count} | ${r.encodedMiB} | ${r.rssMiBPerDoc} | ${r.multiple}× |`)
      process.stderr.write(`${name} ${objects}: ${JSON.stringify(r)}\n`)
    } finally {
      t.stop()
    }
  }
}
console.log(rows.join('\n'))
process.exit(0)
