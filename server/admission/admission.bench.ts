/**
 * What admission costs an honest update (white-box, in one process): the same updates applied
 * to copies of a 10,000-object site (and of a text document), once with Y.applyUpdate alone
 * and once admitted first (scan, model, and the schema guard for the site), alternating three
 * rounds and keeping each configuration's best.
 *
 *   npm run bench:admission [-- --updates 3000]
 */
import { parseArgs } from 'node:util'
import * as Y from 'yjs'
import { appendTranscript, createObject, moveObject, setAnchor, updateObject } from '../../shared/schema/document.ts'
import { generateSite } from '../../shared/schema/generate.ts'
import { configWith } from '../config.ts'
import { SchemaViolation, SiteGuard } from '../documents/schema-guard.ts'
import { allSlices } from './slices.ts'
import { Admission, type CheckFactory } from './admission.ts'
import { clientLimits } from './limits.ts'

const { values } = parseArgs({ options: { updates: { type: 'string', default: '3000' } } })
const UPDATES = Number(values.updates)
const limits = clientLimits(configWith({}))
const siteCheck: CheckFactory = (doc, model, deletes) => new SiteGuard(doc, model, deletes)

interface Workload {
  readonly name: string
  readonly state: Uint8Array
  readonly updates: { kind: string; update: Uint8Array }[]
  readonly site: boolean
}

function siteWorkload(): Workload {
  const base = new Y.Doc()
  generateSite(base, { objects: 10_000 })
  const state = Y.encodeStateAsUpdate(base)
  const client = new Y.Doc()
  Y.applyUpdate(client, state)
  const kinds = ['rename', 'move', 'anchor pose', 'new component', 'transcript typing'] as const
  const ids = [...client.getMap('objects').keys()].filter((id) => /-c\d+$/.test(id))
  const updates: Workload['updates'] = []
  for (let i = 0; i < UPDATES; i++) {
    const kind = kinds[i % kinds.length]!
    let update!: Uint8Array
    client.once('update', (u: Uint8Array) => (update = u))
    const id = ids[(i * 7919) % ids.length]!
    if (kind === 'rename') updateObject(client, id, { name: `renamed ${i}` })
    else if (kind === 'move') moveObject(client, id, client.getMap<Y.Map<unknown>>('objects').get(id)!.get('parentId') as string)
    else if (kind === 'anchor pose')
      setAnchor(client, `a${i % 50}`, { pose: { p: [i % 100, 1.6, 0], q: [0, 0, 0, 1] }, parentAnchorId: null, label: 'a', confidence: 0.9, updatedBy: 'hmd' })
    else if (kind === 'new component')
      createObject(client, `bench-${i}`, { type: 'component', parentId: 'f0-z00-hvac', name: `new ${i}`, kind: 'vav', bbox: [1, 1, 1, 2, 2, 2] })
    else appendTranscript(client, 'h0', 'word ')
    updates.push({ kind: `site: ${kind}`, update })
  }
  return { name: 'site', state, updates, site: true }
}

function textWorkload(): Workload {
  const base = new Y.Doc()
  base.getText('t').insert(0, 'x'.repeat(20_000))
  const state = Y.encodeStateAsUpdate(base)
  const client = new Y.Doc()
  Y.applyUpdate(client, state)
  const updates: Workload['updates'] = []
  for (let i = 0; i < UPDATES; i++) {
    let update!: Uint8Array
    client.once('update', (u: Uint8Array) => (update = u))
    if (i % 2 === 0) client.getText('t').insert((i * 7919) % client.getText('t').length, 'k')
    else client.getMap('m').set(`k${i % 100}`, i)
    updates.push({ kind: i % 2 === 0 ? 'free-form: keystroke' : 'free-form: map set', update })
  }
  return { name: 'text', state, updates, site: false }
}

function measure(w: Workload, admit: boolean): Map<string, number> {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, w.state)
  const perKind = new Map<string, number>()
  for (const { kind, update } of w.updates) {
    const t = performance.now()
    if (admit) {
      const a = new Admission(doc, update, {
        limits,
        sliceWork: 10e6,
        check: w.site ? siteCheck : undefined,
        checkFailure: (e) => (e instanceof SchemaViolation ? { kind: 'schema', detail: e.message } : null),
      })
      a.advance(Number.POSITIVE_INFINITY)
      const r = a.result
      if (!('plan' in r)) throw new Error(`refused: ${r.detail}`)
      for (const slice of allSlices(r.plan)) Y.applyUpdate(doc, slice)
    } else Y.applyUpdate(doc, update)
    perKind.set(kind, (perKind.get(kind) ?? 0) + performance.now() - t)
  }
  return perKind
}

console.log('| Update | Y.applyUpdate alone | Admitted, then applied | Admission costs |')
console.log('|---|---|---|---|')
for (const w of [textWorkload(), siteWorkload()]) {
  const runs = { plain: [] as Map<string, number>[], admitted: [] as Map<string, number>[] }
  for (let r = 0; r < 3; r++) {
    runs.plain.push(measure(w, false))
    runs.admitted.push(measure(w, true))
  }
  const kinds = [...runs.plain[0]!.keys()]
  const best = (list: Map<string, number>[], k: string) => Math.min(...list.map((m) => m.get(k)!))
  const n = (k: string) => w.updates.filter((u) => u.kind === k).length
  for (const k of kinds) {
    const [a, b] = [best(runs.plain, k) / n(k), best(runs.admitted, k) / n(k)]
    console.log(`| ${k} | ${(a * 1000).toFixed(1)} µs | ${(b * 1000).toFixed(1)} µs | +${((b - a) * 1000).toFixed(1)} µs (${(b / a).toFixed(2)}×) |`)
  }
}
