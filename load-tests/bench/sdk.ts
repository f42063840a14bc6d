/**
 * `npm run bench:sdk`: what the SDK costs over a bare WebsocketProvider, in one run against
 * one server (the compiled one, a fresh process): a typed `moveObject` seen by another
 * Site as an `objectsMoved` event, against a raw `Y.Map.set('parentId', …)` seen by another
 * bare provider's `observeDeep`, alternating one of each so both meet the same noise; and
 * the writer's own cost of the call (validation against a draft of the document, vs. none).
 * The site has `--objects` objects (default 10,000: a building an editor opens).
 *   npm run bench:sdk [-- --objects 10000 --rounds 400]
 */
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { connectSite, type Site } from '../../client/sdk/index.ts'
import { generateSite } from '../../shared/schema/generate.ts'
import { createHistogram, type Histogram, recordMs, summarize } from '../../shared/histogram.ts'
import { provider, synced, untilDoc } from '../harness/clients.ts'
import { killAllServers, startServerProcess } from '../harness/server-process.ts'

const { values } = parseArgs({ options: { objects: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '400' } } })
const OBJECTS = Number(values.objects)
const ROUNDS = Number(values.rounds)

const server = await startServerProcess({}, undefined, { built: true })
const site = (doc: string): Site => connectSite({ urls: server.wsUrl, doc, WebSocket })

// The same building in two documents: one for the SDK pair, one for the bare pair.
const writer = site('site/bench-sdk')
const reader = site('site/bench-sdk')
await Promise.all([writer.whenSynced(), reader.whenSynced()])
generateSite(writer.doc, { objects: OBJECTS, seed: 1 })
const rawWriter = provider(server.wsUrl, 'site/bench-raw')
const rawReader = provider(server.wsUrl, 'site/bench-raw')
await Promise.all([synced(rawWriter), synced(rawReader)])
Y.applyUpdate(rawWriter.doc, Y.encodeStateAsUpdate(writer.doc))
await untilDoc(reader.doc, 'the SDK reader has the site', (d) => d.getMap('objects').size === OBJECTS, 60_000)
await untilDoc(rawReader.doc, 'the bare reader has the site', (d) => d.getMap('objects').size === OBJECTS, 60_000)
reader.tree() // both readers resolve the hierarchy once before timing, as an editor does on open

const components = writer.objects('component').map((c) => c.id)
const systems = writer.objects('system').map((s) => s.id)
const rawObjects = rawWriter.doc.getMap<Y.Map<unknown>>('objects')

const h = { sdk: createHistogram(), raw: createHistogram(), sdkCall: createHistogram(), rawCall: createHistogram() }

/** Resolves when `arrived()` turns true after `write()`, recording the round trip and the call's own time. */
function roundTrip(write: () => void, subscribe: (wake: () => void) => () => void, arrived: () => boolean, trip: Histogram, call: Histogram): Promise<void> {
  return new Promise((resolve) => {
    const started = performance.now()
    const off = subscribe(() => {
      if (!arrived()) return
      recordMs(trip, performance.now() - started)
      off()
      resolve()
    })
    write()
    recordMs(call, performance.now() - started)
  })
}

for (let i = 0; i < ROUNDS; i++) {
  const id = components[i % components.length]!
  let to = systems[(i * 7 + 3) % systems.length]!
  if (to === writer.object(id)?.parentId) to = systems[(i * 7 + 4) % systems.length]! // a move to where it is changes nothing
  await roundTrip(
    () => writer.moveObject(id, to),
    (wake) => reader.on('objectsMoved', wake),
    () => reader.object(id)?.parentId === to,
    h.sdk,
    h.sdkCall,
  )
  const rawReaderObjects = rawReader.doc.getMap<Y.Map<unknown>>('objects')
  await roundTrip(
    () => rawObjects.get(id)!.set('parentId', to),
    (wake) => {
      rawReaderObjects.observeDeep(wake)
      return () => rawReaderObjects.unobserveDeep(wake)
    },
    () => rawReaderObjects.get(id)?.get('parentId') === to,
    h.raw,
    h.rawCall,
  )
}

const s = { sdk: summarize(h.sdk), raw: summarize(h.raw), sdkCall: summarize(h.sdkCall), rawCall: summarize(h.rawCall) }
const ratio = (a: number, b: number) => (a / b).toFixed(2)
console.log(`SDK overhead, ${OBJECTS} objects, ${ROUNDS} round trips each, alternating (ms):`)
console.log(`  round trip  typed moveObject → objectsMoved  p50 ${s.sdk.p50}  p99 ${s.sdk.p99}`)
console.log(`              raw Y.Map.set → observeDeep      p50 ${s.raw.p50}  p99 ${s.raw.p99}`)
console.log(`              ratio SDK/raw                    p50 ${ratio(s.sdk.p50, s.raw.p50)}×  p99 ${ratio(s.sdk.p99, s.raw.p99)}×`)
console.log(`  the writer's call  typed p50 ${s.sdkCall.p50}  p99 ${s.sdkCall.p99}   raw p50 ${s.rawCall.p50}  p99 ${s.rawCall.p99}`)
for (const s of [writer, reader]) s.close()
for (const p of [rawWriter, rawReader]) {
  p.destroy()
  p.awareness.destroy() // the provider made it, and leaves its timer running
}
killAllServers()
