/**
 * Worker-thread task: compute over a site document (analytics, SVG export) on this
 * worker's own copy of it. The copy is kept between tasks and fed only the parts added
 * since (the main thread never encodes the document); `stale` asks for the whole document
 * when this worker has no copy at the expected point (first use, evicted, restarted).
 */
import * as Y from 'yjs'
import { anchorsOf, readObjects } from '../../shared/schema/document.ts'
import type { Anchor } from '../../shared/schema/domain.ts'
import { analyze, exportSvg, ExportError, type Lod, type Site } from '../compute/site.ts'

export type ComputeJob = { readonly kind: 'analytics' } | { readonly kind: 'svg'; readonly floor: string; readonly lod: Lod; readonly viewport?: readonly [number, number, number, number] | undefined }

export interface ComputeInput {
  /** The document's identity in this process (name and incarnation). */
  readonly key: string
  /** The copy must hold exactly the parts up to this number (-1: build a new copy). */
  readonly afterSeq: number
  readonly throughSeq: number
  readonly parts: readonly Uint8Array[]
  readonly job: ComputeJob
}

export type ComputeOutput = { readonly stale: true } | { readonly error: string } | { readonly value: unknown; readonly ms: number }

interface Replica {
  doc: Y.Doc
  through: number
  usedAt: number
  site: Site | null
}

const replicas = new Map<string, Replica>()
const MAX_REPLICAS = 8

export default function compute(input: ComputeInput): ComputeOutput {
  let replica = replicas.get(input.key)
  if (input.afterSeq >= 0 && (!replica || replica.through !== input.afterSeq)) return { stale: true }
  if (input.afterSeq < 0 || !replica) {
    replica?.doc.destroy()
    replica = { doc: new Y.Doc({ gc: true }), through: -1, usedAt: 0, site: null }
    replicas.set(input.key, replica)
  }
  const started = performance.now()
  if (input.parts.length > 0) {
    const doc = replica.doc
    doc.transact(() => {
      for (const part of input.parts) Y.applyUpdate(doc, part)
    })
    replica.site = null
  }
  replica.through = input.throughSeq
  replica.usedAt = Date.now()
  evict()
  replica.site ??= { objects: readObjects(replica.doc), anchors: new Map<string, Anchor>(anchorsOf(replica.doc).entries()) }
  try {
    const value = input.job.kind === 'analytics' ? analyze(replica.site) : exportSvg(replica.site, input.job)
    return { value, ms: performance.now() - started }
  } catch (err) {
    if (err instanceof ExportError) return { error: err.message }
    throw err
  }
}

function evict(): void {
  if (replicas.size <= MAX_REPLICAS) return
  const oldest = [...replicas].sort(([, a], [, b]) => a.usedAt - b.usedAt).slice(0, replicas.size - MAX_REPLICAS)
  for (const [key, r] of oldest) {
    r.doc.destroy()
    replicas.delete(key)
  }
}
