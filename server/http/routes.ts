/**
 * HTTP on the WebSocket port: health, readiness, Prometheus metrics and a small read API.
 * uWS rules: read everything from `req` before the first await, register onAborted, and
 * write inside `cork` after an await only if the request was not aborted.
 */
import type { TemplatedApp } from 'uWebSockets.js'
import { checkDocName } from '../../shared/protocol/doc-name.ts'
import type { DocStore } from '../../persistence/doc-store.ts'
import { z } from 'zod'
import { ComputeBusy, ComputeError, type ComputeService } from '../compute/service.ts'
import { LODS } from '../compute/site.ts'
import { DocumentLoadError, DocumentQuarantined, type DocumentRegistry } from '../documents/registry.ts'
import { SharedDoc } from '../documents/shared-doc.ts'
import { Id } from '../../shared/schema/domain.ts'
import { HttpErrors } from './errors.ts'
import { type AdminDeps, mountAdmin } from './admin.ts'
import { mountMetrics } from './metrics-route.ts'
import { badInput, type Handler, json, jsonBody, lacks, limited, problem, type Reply, route } from './route.ts'
import { LogLimiter, type Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import { LRUCache } from 'lru-cache'
import { canRead } from '../auth/claims.ts'
import { TokenBucket } from '../limits/token-bucket.ts'
import type { Authenticator } from '../auth/verifier.ts'

export interface HttpDeps extends AdminDeps {
  readonly store: DocStore
  readonly auth: Authenticator
  /** METRICS_PORT is set: /metrics is served there, not here. */
  readonly metricsElsewhere: boolean
  readonly limits: { readonly snapshotsPerDocument: number; readonly snapshotsPerMinute: number; readonly computeRequestsPerS: number }
  /** MAX_LOADED_DOCUMENTS: past it, a request that would load one more answers 503. */
  readonly maxLoadedDocuments: number
  /** Why no more documents may be loaded now (memory), or null. */
  readonly loadRefusal: () => string | null
  readonly registry: () => DocumentRegistry
  readonly metrics: Metrics
  readonly logger: Logger
  /** Readiness checks: name → ok. */
  /**
   * Boolean checks decide readiness (503 when one fails); string checks are reported only,
   * and any value but `up`/`ok` makes the status `degraded`, still 200 (a Redis or MongoDB outage
   * hits every node at once, and taking them all out of rotation would turn degraded
   * service into none).
   */
  readonly readiness: () => Record<string, boolean | string>
  /** Compute for site documents (analytics, SVG export). */
  readonly compute: ComputeService
  /** Whether a document is a site document (schema-checked, computable). */
  readonly isSite: (name: string) => boolean
  /** Largest document served as JSON (MAX_REST_JSON_BYTES). */
  readonly maxJsonBytes: number
}

function decodeSegment(raw: string, badEscape: typeof HttpErrors.BAD_NAME_ESCAPE | typeof HttpErrors.BAD_ID_ESCAPE): string | Reply {
  try {
    return decodeURIComponent(raw)
  } catch {
    return problem(badEscape)
  }
}

/** `/api/documents/<url-encoded name>[/<resource>…]`: the checked name (its / travels as %2F) and the rest. */
function documentPath(url: string): { name: string; rest: string[] } | Reply {
  const [rawName = '', ...rest] = url.slice('/api/documents/'.length).split('/')
  const name = decodeSegment(rawName, HttpErrors.BAD_NAME_ESCAPE)
  if (typeof name !== 'string') return name
  const check = checkDocName(name)
  if (!check.ok) return problem(HttpErrors.BAD_NAME, { reason: check.error })
  return { name, rest }
}

function parseLimit(raw: string | null): number | null {
  if (raw === null) return 100
  const n = Number(raw)
  return Number.isInteger(n) && n >= 1 && n <= 1000 ? n : null
}

const SnapshotBody = z.strictObject({ label: z.string().trim().min(1).max(200) })

const SvgQuery = z.strictObject({
  floor: Id,
  lod: z.enum(LODS).default('full'),
  viewport: z
    .string()
    .regex(/^-?[\d.]+(,-?[\d.]+){3}$/, 'four numbers: minX,minY,maxX,maxY')
    .transform((v) => v.split(',').map(Number) as [number, number, number, number])
    .refine(([x0, y0, x1, y1]) => [x0, y0, x1, y1].every(Number.isFinite) && x0 < x1 && y0 < y1, 'minX < maxX and minY < maxY')
    .transform(snapViewport)
    .optional(),
})

/**
 * A viewport widened to a grid of 1/32 of its size, rounded to a power of two (so nearly equal
 * viewports of one zoom level are the same viewport): a client panning pixel by pixel gets a
 * few cached exports, not one computation per request.
 */
export function snapViewport([x0, y0, x1, y1]: [number, number, number, number]): [number, number, number, number] {
  const cell = 2 ** Math.floor(Math.log2(Math.max(x1 - x0, y1 - y0) / 32))
  return [Math.floor(x0 / cell) * cell, Math.floor(y0 / cell) * cell, Math.ceil(x1 / cell) * cell, Math.ceil(y1 / cell) * cell]
}

export function mountHttp(app: TemplatedApp, deps: HttpDeps): void {
  const { logger, metrics, store } = deps
  const access = deps.auth.open ? null : { verify: deps.auth.verify, refused: (reason: string) => metrics.authRefused.inc({ reason }) }
  // One line per second per address (a refused client in a loop must not flood the log).
  const limiter = new LogLimiter()
  // One bucket per address, for the most recent addresses (an old one starts full again).
  const buckets = new LRUCache<string, TokenBucket>({ max: 10_000 })
  const computeRate = (remote: string): boolean => {
    let bucket = buckets.get(remote)
    if (!bucket) buckets.set(remote, (bucket = new TokenBucket(deps.limits.computeRequestsPerS, 4 * deps.limits.computeRequestsPerS)))
    if (bucket.take(1)) return true
    metrics.httpRateLimited.inc()
    const suppressed = limiter.allow(remote)
    if (suppressed !== null) logger.warn({ remote, ...(suppressed > 0 ? { suppressed } : {}) }, 'REST requests refused: over MAX_COMPUTE_REQUESTS_PER_S')
    return false
  }
  /** A route that needs a token (unless the server runs open). */
  const guarded = (handler: Handler, withBody = false) => route(logger, handler, withBody, access)
  app.get(
    '/healthz',
    route(logger, () => json(200, { status: 'ok' })),
  )

  app.get(
    '/readyz',
    route(logger, () => {
      const checks = deps.readiness()
      const ready = Object.values(checks).every((v) => v !== false)
      const degraded = Object.values(checks).some((v) => typeof v === 'string' && v !== 'up' && v !== 'ok')
      return json(ready ? 200 : 503, { status: !ready ? 'not ready' : degraded ? 'degraded' : 'ready', checks })
    }),
  )

  if (!deps.metricsElsewhere) mountMetrics(app, metrics, logger)

  app.get(
    '/api/documents',
    guarded(async (_url, query, _body, _type, identity) => {
      const limit = parseLimit(query.get('limit'))
      if (limit === null) return problem(HttpErrors.BAD_LIMIT)
      const after = query.get('after') ?? undefined
      const names = await store.list({ after, limit })
      // Only what the token may read; a page may hold fewer than `limit`, and `next` goes on from the last name scanned.
      const readable = names.filter((name) => canRead(identity.rightTo(name)))
      return json(200, { documents: readable, next: names.length === limit ? names[names.length - 1] : null })
    }),
  )

  app.get(
    '/api/documents/*',
    guarded(async (url, query, _body, _type, identity, remote) => {
      const path = documentPath(url)
      if (!('name' in path)) return path
      const { name, rest } = path
      const denied = lacks(identity, name, 'read')
      if (denied) return denied
      // Every document route computes something (JSON, analytics, an export): it can amplify a request.
      if (!computeRate(remote)) return limited(problem(HttpErrors.REQUEST_RATE), 1)
      if (rest.length > 0) return siteResource(name, rest, query)
      const info = await store.info(name)
      const wasLoaded = deps.registry().peek(name) !== undefined
      const doc = await existing(name, info)
      if (!(doc instanceof SharedDoc)) return doc
      // Built and sized in the compute worker (never on the event loop), cached per document version.
      const r = await compute(() => deps.compute.run(doc, { kind: 'json', maxBytes: deps.maxJsonBytes }))
      if ('status' in r) return r
      const v = r.value as { json: string | null; jsonBytes: number; size: number }
      if (v.json === null) return problem(HttpErrors.JSON_TOO_LARGE, { bytes: v.jsonBytes, max: deps.maxJsonBytes })
      const head = JSON.stringify({ name, loaded: wasLoaded, size: v.size, updateLogLength: info?.logLength ?? 0, snapshotBytes: info?.snapshotBytes ?? 0 })
      return { status: 200, type: 'application/json', body: `${head.slice(0, -1)},"content":${v.json}}` }
    }),
  )

  const busy = (err: ComputeBusy): Reply => ({ ...problem(HttpErrors.COMPUTE_BUSY, { waiting: err.waiting }), headers: { 'retry-after': '1' } })

  /** Runs a computation; a full compute queue is a 503 with Retry-After, never a wait without bound. */
  async function compute<T>(job: () => Promise<T>): Promise<T | Reply> {
    try {
      return await job()
    } catch (err) {
      if (err instanceof ComputeBusy) return busy(err)
      throw err
    }
  }

  /** The loaded document, loading it if it is stored; a 404 or 503 reply otherwise. `info`: the store's, when the caller has it already. */
  async function existing(name: string, info?: Awaited<ReturnType<typeof store.info>>): Promise<SharedDoc | Reply> {
    const registry = deps.registry()
    if (!registry.peek(name) && !(info === undefined ? await store.info(name) : info))
      return problem(HttpErrors.DOCUMENT_NOT_FOUND, { name: JSON.stringify(name) })
    if (!registry.peek(name) && registry.size >= deps.maxLoadedDocuments)
      return { ...problem(HttpErrors.TOO_MANY_DOCUMENTS, { loaded: registry.size }), headers: { 'retry-after': '5' } }
    const memory = registry.peek(name) ? null : deps.loadRefusal()
    if (memory) return { ...problem(HttpErrors.MEMORY_PRESSURE, { reason: memory }), headers: { 'retry-after': '5' } }
    try {
      return await deps.registry().acquire(name)
    } catch (err) {
      if (err instanceof DocumentQuarantined) return problem(HttpErrors.DOCUMENT_QUARANTINED, { reason: err.reason })
      if (err instanceof DocumentLoadError) return problem(HttpErrors.DOCUMENT_UNAVAILABLE)
      throw err
    }
  }

  /** Analytics, SVG export and single objects of a site document, computed in a worker. */
  async function siteResource(name: string, rest: string[], query: URLSearchParams): Promise<Reply> {
    const resource = rest.join('/')
    if (!deps.isSite(name)) return problem(HttpErrors.NOT_A_SITE, { name: JSON.stringify(name) })
    const doc = await existing(name)
    if (!(doc instanceof SharedDoc)) return doc
    try {
      if (resource === 'analytics') {
        const r = await deps.compute.run(doc, { kind: 'analytics' })
        return json(200, { name, cached: r.cached, source: r.source, computeMs: Math.round(r.ms * 10) / 10, analytics: r.value })
      }
      if (resource === 'export.svg') {
        const q = SvgQuery.safeParse(Object.fromEntries(query))
        if (!q.success) return badInput(HttpErrors.BAD_QUERY, q.error)
        const r = await deps.compute.run(doc, { kind: 'svg', floor: q.data.floor, lod: q.data.lod, viewport: q.data.viewport })
        return { status: 200, body: r.value as string, type: 'image/svg+xml' }
      }
      if (resource === 'snapshots') return json(200, { name, snapshots: await store.listVersions(name) })
      if (rest[0] === 'snapshots' && rest.length === 2) {
        const id = decodeSegment(rest[1]!, HttpErrors.BAD_ID_ESCAPE)
        if (typeof id !== 'string') return id
        const version = await store.loadVersion(name, id)
        if (!version) return problem(HttpErrors.SNAPSHOT_NOT_FOUND, { id: JSON.stringify(rest[1]), name: JSON.stringify(name) })
        return { status: 200, body: version.state, type: 'application/octet-stream' }
      }
      if (rest[0] === 'objects' && rest.length === 2) {
        const id = decodeSegment(rest[1]!, HttpErrors.BAD_ID_ESCAPE)
        if (typeof id !== 'string') return id
        if (!Id.safeParse(id).success) return problem(HttpErrors.BAD_ID)
        // In the compute worker: resolving the hierarchy of a large site is not event-loop work.
        const view = (await deps.compute.run(doc, { kind: 'object', id })).value
        if (!view) return problem(HttpErrors.OBJECT_NOT_FOUND, { id: JSON.stringify(id), name: JSON.stringify(name) })
        return json(200, view)
      }
      return problem(HttpErrors.RESOURCE_NOT_FOUND, { resource: JSON.stringify(resource) })
    } catch (err) {
      if (err instanceof ComputeError) return problem(HttpErrors.COMPUTE_NOT_FOUND, { reason: err.message })
      if (err instanceof ComputeBusy) return busy(err)
      throw err
    }
  }

  app.post(
    '/api/documents/*',
    guarded(async (url, _query, body, contentType, identity, remote) => {
      const path = documentPath(url)
      if (!('name' in path)) return path
      const { name, rest } = path
      if (rest.join('/') !== 'snapshots') return problem(HttpErrors.POST_NOT_FOUND)
      const denied = lacks(identity, name, 'write')
      if (denied) return denied
      if (!computeRate(remote)) return limited(problem(HttpErrors.REQUEST_RATE), 1)
      // Counted from the store, so the bounds hold across nodes and restarts.
      const versions = await store.listVersions(name)
      if (versions.length >= deps.limits.snapshotsPerDocument) return problem(HttpErrors.SNAPSHOT_LIMIT, { name: JSON.stringify(name), count: versions.length })
      const recent = versions.filter((v) => v.createdAt > Date.now() - 60_000).length
      if (recent >= deps.limits.snapshotsPerMinute) return limited(problem(HttpErrors.SNAPSHOT_RATE, { name: JSON.stringify(name), count: recent }), 60)
      if (!deps.isSite(name)) return problem(HttpErrors.NOT_A_SITE_SNAPSHOT, { name: JSON.stringify(name) })
      const input = jsonBody(body, contentType, SnapshotBody, HttpErrors.BAD_CONTENT_TYPE)
      if ('status' in input) return input
      const doc = await existing(name)
      if (!(doc instanceof SharedDoc)) return doc
      // The whole state, encoded by the compute worker's copy (never on the event loop).
      const state = await compute(() => deps.compute.encodeState(doc))
      if (!(state instanceof Uint8Array)) return state
      try {
        const info = await store.saveVersion(name, input.label, state)
        return json(201, info)
      } catch (err) {
        logger.error({ err, doc: name }, 'saving a named version failed')
        return problem(HttpErrors.VERSION_UNAVAILABLE)
      }
    }, true),
  )

  mountAdmin(app, deps, guarded)

  app.any(
    '/*',
    route(logger, () => problem(HttpErrors.ROUTE_NOT_FOUND)),
  )
}
