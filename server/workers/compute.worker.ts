/**
 * Worker-thread task: compute over a document (analytics, SVG export and objects of site
 * documents; any document's JSON and whole state) on this worker's own copy of it. The copy is kept between tasks and fed only the parts added
 * since (the main thread never encodes the document); `stale` asks for the whole document
 * when this worker has no copy at the expected point (first use, evicted, restarted).
 */
import { createHash } from 'node:crypto'
import * as Y from 'yjs'
import { anchorsOf, objectsOf, readObjects, sanitizeObject } from '../../shared/schema/document.ts'
import { pathTo, resolveHierarchy } from '../../shared/schema/hierarchy.ts'
import type { Anchor, BuildingObject } from '../../shared/schema/domain.ts'
import { generateSite } from '../../shared/schema/generate.ts'
import { analyze, exportSvg, ExportError, type Lod, type Site } from '../compute/site.ts'
import { docToJSON } from '../documents/to-json.ts'

export type ComputeJob =
  | { readonly kind: 'analytics' }
  | { readonly kind: 'state' }
  | { readonly kind: 'json'; readonly maxBytes: number }
  | { readonly kind: 'key' }
  | { readonly kind: 'object'; readonly id: string }
  | { readonly kind: 'svg'; readonly floor: string; readonly lod: Lod; readonly viewport?: readonly [number, number, number, number] | undefined }

export interface ComputeInput {
  /** The document's identity in this process (name and incarnation). */
  readonly key: string
  /** The copy must hold exactly the parts up to this number (-1: build a new copy). */
  readonly afterSeq: number
  readonly throughSeq: number
  readonly parts: readonly Uint8Array[]
  readonly job: ComputeJob
  /** Also return the identity of the state the job ran on (cluster mode's shared cache). */
  readonly withKey?: boolean
}

export type ComputeOutput = { readonly stale: true } | { readonly error: string } | { readonly value: unknown; readonly ms: number; readonly key?: string }

interface Replica {
  doc: Y.Doc
  through: number
  usedAt: number
  /** Encoded bytes applied so far: a stand-in for the copy's memory (a Y.Doc takes several times more). */
  bytes: number
  /**
   * Plain copies of objects and anchors, kept current from the replica's change events; made
   * by the first site job (`siteOf`), so a copy kept only for JSON or state never grows the
   * site's top-level maps.
   */
  site: SiteCopy | null
}

type SiteCopy = { objects: Map<string, BuildingObject>; anchors: Map<string, Anchor>; invalid: Set<string>; hierarchy?: Site['hierarchy'] }

function newReplica(): Replica {
  return { doc: new Y.Doc({ gc: true }), through: -1, usedAt: 0, bytes: 0, site: null }
}

/** The replica's plain site data: read once, then followed through change events (work proportional to the change). */
function siteOf(replica: Replica): SiteCopy {
  if (replica.site) return replica.site
  warmUp()
  const { doc } = replica
  const site: SiteCopy = { objects: new Map(), anchors: new Map(), invalid: new Set() }
  const objects = objectsOf(doc)
  const refresh = (id: string) => {
    const map = objects.get(id)
    // Readers see objects as the schema promises them, whatever was stored before it was enforced.
    const object = map instanceof Y.Map ? sanitizeObject(id, map.toJSON() as Record<string, unknown>) : null
    if (object) {
      site.objects.set(id, object)
      site.invalid.delete(id)
    } else {
      site.objects.delete(id)
      if (map instanceof Y.Map) site.invalid.add(id)
      else site.invalid.delete(id)
    }
  }
  for (const id of objects.keys()) refresh(id)
  for (const [id, anchor] of anchorsOf(doc)) site.anchors.set(id, anchor)
  objects.observeDeep((events) => {
    const touched = new Set<string>()
    for (const event of events) {
      if (event.target === objects) for (const key of event.changes.keys.keys()) touched.add(key)
      else if (typeof event.path[0] === 'string') touched.add(event.path[0])
    }
    for (const id of touched) refresh(id)
    site.hierarchy = undefined
  })
  anchorsOf(doc).observe((event) => {
    for (const key of event.changes.keys.keys()) {
      const anchor = anchorsOf(doc).get(key)
      if (anchor) site.anchors.set(key, anchor)
      else site.anchors.delete(key)
    }
  })
  replica.site = site
  return site
}

const replicas = new Map<string, Replica>()
const MAX_REPLICAS = 8
/** Copies are also bounded by what was applied to them; the copy in use is always kept. */
const MAX_REPLICA_BYTES = 96 * 1024 * 1024

export default function compute(input: ComputeInput): ComputeOutput {
  let replica = replicas.get(input.key)
  if (input.afterSeq >= 0 && (!replica || replica.through !== input.afterSeq)) return { stale: true }
  if (input.afterSeq < 0 || !replica) {
    replica?.doc.destroy()
    replica = newReplica()
    replicas.set(input.key, replica)
  }
  const started = performance.now()
  if (input.parts.length > 0) {
    const doc = replica.doc
    doc.transact(() => {
      for (const part of input.parts) Y.applyUpdate(doc, part)
    })
    replica.bytes += input.parts.reduce((n, p) => n + p.length, 0)
  }
  replica.through = input.throughSeq
  replica.usedAt = Date.now()
  evict()
  try {
    const job = input.job
    const value =
      job.kind === 'analytics'
        ? analyze(siteOf(replica))
        : job.kind === 'state'
          ? Y.encodeStateAsUpdate(replica.doc)
          : job.kind === 'json'
            ? documentJson(replica.doc, job.maxBytes)
            : job.kind === 'key'
              ? stateKey(replica.doc)
              : job.kind === 'object'
                ? objectView(siteOf(replica), job.id)
                : exportSvg(siteOf(replica), job)
    return { value, ms: performance.now() - started, ...(input.withKey ? { key: stateKey(replica.doc) } : {}) }
  } catch (err) {
    if (err instanceof ExportError) return { error: err.message }
    throw err
  }
}

/**
 * The state's identity on any node: its state vector and a digest of its delete set (a
 * delete adds no struct, so the state vector alone would miss it; Yjs writes delete sets
 * sorted and merged, so equal sets give equal bytes).
 */
function stateKey(doc: Y.Doc): string {
  const sv = Y.encodeStateVector(doc)
  // A cryptographic digest: clients choose what they delete, and must not be able to make two states collide.
  return createHash('sha256').update(sv).update(Y.encodeStateAsUpdate(doc, sv)).digest('base64url')
}

/** The document as JSON text with its encoded size; or only its size, when the text would pass `maxBytes`. */
function documentJson(doc: Y.Doc, maxBytes: number): { json: string | null; jsonBytes: number; size: number } {
  const json = JSON.stringify(docToJSON(doc))
  const size = Y.encodeStateAsUpdate(doc).length
  return json.length > maxBytes ? { json: null, jsonBytes: json.length, size } : { json, jsonBytes: json.length, size }
}

/** One object with where the hierarchy puts it (null when there is no such object). */
function objectView(site: SiteCopy, id: string): Record<string, unknown> | null {
  const object = site.objects.get(id)
  if (!object) return null
  const h = (site.hierarchy ??= resolveHierarchy(site.objects))
  return { id, ...object, path: pathTo(h, id), children: h.children.get(id) ?? [], detached: h.detached.get(id) ?? null }
}

/** Least recently used copies go until at most MAX_REPLICAS remain within MAX_REPLICA_BYTES (the newest always stays). */
function evict(): void {
  const byAge = [...replicas].sort(([, a], [, b]) => a.usedAt - b.usedAt)
  let total = byAge.reduce((n, [, r]) => n + r.bytes, 0)
  for (const [key, r] of byAge.slice(0, -1)) {
    if (replicas.size <= MAX_REPLICAS && total <= MAX_REPLICA_BYTES) break
    r.doc.destroy()
    replicas.delete(key)
    total -= r.bytes
  }
}

/**
 * Warm-up before the first site job, so it runs optimised code, not the interpreter's; a
 * thread that only ever builds JSON or states never pays for it.
 */
let warmedUp = false
function warmUp(): void {
  if (warmedUp) return
  warmedUp = true
  const doc = new Y.Doc()
  generateSite(doc, { objects: 3000 })
  const site: Site = { objects: readObjects(doc), anchors: new Map(anchorsOf(doc).entries()) }
  for (let i = 0; i < 3; i++) {
    site.hierarchy = undefined
    analyze(site)
    exportSvg(site, { floor: 'f0', lod: 'full' })
  }
  doc.destroy()
}
