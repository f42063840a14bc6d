/**
 * Storage benchmark (issue 5), in one process with real worker threads:
 *
 * 1. Compaction of building documents of 10,000 and 100,000 objects, built the way editors
 *    build them (objects created in batches, then moved, renamed and some deleted: a log of
 *    many small updates). For the shared-store protocol (what MongoDB runs, here on
 *    in-memory primitives) and the embedded LMDB store: time, bytes before → after, load
 *    time before and after, and the event loop's lag while the merge runs in a worker.
 * 2. Shipping throughput from the local LMDB outbox to the shared store, healthy and with
 *    injected faults (latency, half the writes failing, an outage in the middle): entries/s
 *    until the queue is empty, and a check that nothing was lost.
 *
 *   npm run bench:storage [-- --sizes 10000,100000 --ship-updates 20000]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import * as Y from 'yjs'
import { storedToDoc, type DocStore } from '../../persistence/doc-store.ts'
import { LmdbStore } from '../../persistence/lmdb-store.ts'
import { LogStore } from '../../persistence/mongo/log-store.ts'
import { MemoryLogBackend } from '../../persistence/testing/mongo-memory-backend.ts'
import { openLmdbOutbox } from '../../persistence/outbox.ts'
import { ShippingStore } from '../../persistence/shipping-store.ts'
import { Compactor } from '../documents/compactor.ts'
import { createMetrics } from '../metrics.ts'
import { WorkerPool } from '../workers/pool.ts'

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    'ship-updates': { type: 'string', default: '20000' },
  },
})
const SIZES = values.sizes.split(',').map(Number)
const SHIP_UPDATES = Number(values['ship-updates'])

const TYPES = ['floor', 'zone', 'system', 'component', 'component', 'component', 'connection', 'space'] as const

/** A building document's history as editors make it: one update per editing step. */
function buildingLog(objects: number): { updates: Uint8Array[]; doc: Y.Doc } {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  const map = doc.getMap<Y.Map<unknown>>('objects')
  const BATCH = 50
  for (let i = 0; i < objects; i += BATCH) {
    doc.transact(() => {
      for (let j = i; j < Math.min(objects, i + BATCH); j++) {
        const o = new Y.Map<unknown>()
        o.set('type', j === 0 ? 'building' : TYPES[j % TYPES.length])
        o.set('parentId', j === 0 ? null : `o${Math.floor(j / 10)}`)
        o.set('name', `object ${j}`)
        o.set('bbox', [j % 100, Math.floor(j / 100) % 100, 0, 1, 1, 3])
        map.set(`o${j}`, o)
      }
    })
  }
  // Then a working session: moves, renames, deletions, one small update each; the same
  // objects are touched again and again (a log holds many overwrites of the same values).
  const edits = objects * 2
  for (let k = 0; k < edits; k++) {
    const id = `o${1 + ((k * 7919) % Math.max(1, Math.floor(objects / 4)))}`
    const o = map.get(id)
    if (!o) continue
    if (k % 50 === 0) map.delete(id)
    else if (k % 2 === 0) o.set('parentId', `o${(k * 31) % 1000}`)
    else o.set('name', `renamed ${k}`)
  }
  return { updates, doc }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number; lagP99: number; lagMax: number }> {
  const lag = monitorEventLoopDelay({ resolution: 1 })
  lag.enable()
  const started = performance.now()
  const value = await run()
  const ms = performance.now() - started
  lag.disable()
  return { value, ms, lagP99: lag.percentile(99) / 1e6, lagMax: lag.max / 1e6 }
}

async function compactionRow(label: string, store: DocStore, pool: WorkerPool, objects: number): Promise<string> {
  const { updates, doc } = buildingLog(objects)
  for (let i = 0; i < updates.length; i += 500) await store.append(updates.slice(i, i + 500).map((update) => ({ name: 'site/bench', update })))
  const before = (await store.info('site/bench'))!
  const loadBefore = await timed(() => store.load('site/bench'))
  const metrics = createMetrics()
  const compactor = new Compactor({ store, pool, threshold: 1_000_000, logger: pino({ level: 'silent' }), metrics })
  await pool.compact({ snapshot: null, updates: updates.slice(0, 10) }) // start the worker thread outside the measurement
  const run = await timed(() => compactor.compact('site/bench'))
  if (run.value !== 'ok') throw new Error(`compaction: ${run.value}`)
  const after = (await store.info('site/bench'))!
  const loadAfter = await timed(() => store.load('site/bench'))
  // Nothing lost: the snapshot holds the same document.
  const check = storedToDoc(loadAfter.value)
  if (JSON.stringify(check.getMap('objects').toJSON()) !== JSON.stringify(doc.getMap('objects').toJSON())) throw new Error('compacted document differs')
  const saved = 1 - after.snapshotBytes / (before.logBytes + before.snapshotBytes)
  return `| ${label} | ${objects.toLocaleString('en')} | ${before.logLength.toLocaleString('en')} entries, ${mib(before.logBytes)} | ${mib(after.snapshotBytes)} (−${(saved * 100).toFixed(0)} %) | ${(run.ms / 1000).toFixed(2)} s | ${run.lagP99.toFixed(1)} / ${run.lagMax.toFixed(1)} ms | ${loadBefore.ms.toFixed(0)} → ${loadAfter.ms.toFixed(0)} ms |`
}

type Fault = 'healthy' | 'latency 5 ms per operation' | 'half the writes fail' | 'down for the first 2 s'

/**
 * Catch-up throughput: the outbox is filled while the shared store holds back, then the
 * shipper drains it against the store with `fault`; timed until every entry is confirmed.
 */
async function shippingRow(fault: Fault, pool: WorkerPool): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'atrium-bench-ship-'))
  const backend = new MemoryLogBackend()
  const remote = new LogStore(backend)
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  let writes = 0
  let downUntil = 0
  backend.hook = async (op) => {
    await gate
    if (fault === 'latency 5 ms per operation') await new Promise((r) => setTimeout(r, 5))
    if (fault === 'half the writes fail' && op === 'insertLog' && ++writes % 2 === 0) throw new Error('injected write failure')
    if (Date.now() < downUntil) throw new Error('injected outage')
  }
  const store = new ShippingStore({ outbox: openLmdbOutbox(dir, 4 * 1024 ** 3), remote, merge: (u) => pool.merge(u), coalesceEntries: Number.MAX_SAFE_INTEGER })
  const source = new Y.Doc()
  const DOCS = 10
  // As group commits would: each append holds one update per document.
  for (let i = 0; i < SHIP_UPDATES; i += DOCS) {
    const entries = []
    for (let j = i; j < Math.min(SHIP_UPDATES, i + DOCS); j++) {
      let update!: Uint8Array
      source.once('update', (u: Uint8Array) => (update = u))
      source.getMap(`doc${j % DOCS}`).set(`k${j}`, { type: 'component', name: `object ${j}`, at: [j, j, 0] })
      entries.push({ name: `site/${j % DOCS}`, update })
    }
    await store.append(entries)
  }
  const queuedBytes = store.outbox.bytes
  const started = performance.now()
  if (fault === 'down for the first 2 s') downUntil = Date.now() + 2000
  release()
  while (store.outbox.entries > 0) await new Promise((r) => setTimeout(r, 2))
  const ms = performance.now() - started
  // Nothing lost.
  const check = new Y.Doc()
  for (let d = 0; d < DOCS; d++) {
    const stored = (await remote.load(`site/${d}`))!
    for (const u of stored.updates) Y.applyUpdate(check, u)
  }
  for (let d = 0; d < DOCS; d++) {
    if (JSON.stringify(check.getMap(`doc${d}`).toJSON()) !== JSON.stringify(source.getMap(`doc${d}`).toJSON())) throw new Error(`shipping lost data (${fault})`)
  }
  const records = [...backend.state.log.values()].reduce((n, l) => n + l.length, 0)
  await store.close()
  await rm(dir, { recursive: true, force: true })
  return `| ${fault} | ${SHIP_UPDATES.toLocaleString('en')} (${mib(queuedBytes)}) | ${(ms / 1000).toFixed(2)} s | ${Math.round(SHIP_UPDATES / (ms / 1000)).toLocaleString('en')} | ${(queuedBytes / 1024 / 1024 / (ms / 1000)).toFixed(1)} MiB/s | ${records.toLocaleString('en')} | none lost |`
}

const pool = new WorkerPool(2)
console.log(`\nCompaction (worker thread), node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`)
console.log('| store | objects | log before | snapshot after | compaction | event-loop lag p99 / max during it | load before → after |')
console.log('|---|---|---|---|---|---|---|')
for (const objects of SIZES) {
  const dir = await mkdtemp(join(tmpdir(), 'atrium-bench-compact-'))
  const lmdb = new LmdbStore({ path: dir, mapSize: 8 * 1024 ** 3 })
  console.log(await compactionRow("shared-store protocol (MongoDB's, in-memory primitives)", new LogStore(new MemoryLogBackend()), pool, objects))
  console.log(await compactionRow('embedded LMDB', lmdb, pool, objects))
  await lmdb.close()
  await rm(dir, { recursive: true, force: true })
}

console.log(`\nShipping a full LMDB outbox to the shared store (catch-up: 10 documents, queued while the store held back)\n`)
console.log('| shared store | queued updates | all confirmed after | updates/s | bytes/s | records in the shared log | check |')
console.log('|---|---|---|---|---|---|---|')
for (const fault of ['healthy', 'latency 5 ms per operation', 'half the writes fail', 'down for the first 2 s'] as const)
  console.log(await shippingRow(fault, pool))
await pool.close()
