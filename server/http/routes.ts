/**
 * HTTP on the WebSocket port: health, readiness, Prometheus metrics and a small read API.
 * uWS rules: read everything from `req` before the first await, register onAborted, and
 * write inside `cork` after an await only if the request was not aborted.
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js'
import { checkDocName } from '../../shared/protocol/doc-name.ts'
import type { DocStore } from '../../persistence/doc-store.ts'
import { z } from 'zod'
import { ComputeBusy, ComputeError, type ComputeService } from '../compute/service.ts'
import { LODS } from '../compute/site.ts'
import { DocumentLoadError, DocumentQuarantined, type DocumentRegistry } from '../documents/registry.ts'
import { SharedDoc } from '../documents/shared-doc.ts'
import { describeIssue, Id } from '../../shared/schema/domain.ts'
import { errorBody, HttpErrors, type HttpError, type Values } from './errors.ts'
import type { Logger } from '../log.ts'
import type { Metrics } from '../metrics.ts'
import { LRUCache } from 'lru-cache'
import { canRead, type Identity, OPEN_IDENTITY } from '../auth/claims.ts'
import { TokenBucket } from '../limits/token-bucket.ts'
import type { Revocation } from '../auth/revocations.ts'
import { AuthError, type Authenticator, tokenOf } from '../auth/verifier.ts'

export interface HttpDeps {
  readonly store: DocStore
  readonly auth: Authenticator
  /** METRICS_PORT is set: /metrics is served there, not here. */
  readonly metricsElsewhere: boolean
  readonly limits: { readonly snapshotsPerDocument: number; readonly snapshotsPerMinute: number; readonly computeRequestsPerS: number }
  /** MAX_LOADED_DOCUMENTS: past it, a request that would load one more answers 503. */
  readonly maxLoadedDocuments: number
  /** Revokes a token id or a subject's tokens, on every node (server/auth/revocation-service.ts). */
  readonly revoke: (kind: 'jti' | 'sub', value: string) => Promise<{ revocation: Revocation; closed: number }>
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

interface Reply {
  status: number
  body: string | Uint8Array
  type?: string
  headers?: Record<string, string>
}

/** Largest request body accepted (JSON commands only; documents never travel over REST). */
const MAX_BODY_BYTES = 16 * 1024

const STATUS: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  400: '400 Bad Request',
  429: '429 Too Many Requests',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
}

const json = (status: number, value: unknown): Reply => ({ status, body: JSON.stringify(value), type: 'application/json' })
/** An error answer from the catalogue (errors.ts): its status, code and filled-in message. */
const problem = <M extends string>(error: HttpError<M>, ...values: Values<M>): Reply => json(error.status, errorBody(error, ...values))

/**
 * Runs an async handler with the uWS abort/cork discipline. With `withBody`, the request
 * body is read first (copied: uWS reuses its buffers), up to MAX_BODY_BYTES (else 413).
 */
function route(
  logger: Logger,
  handler: (url: string, query: URLSearchParams, body: Uint8Array | null, contentType: string, identity: Identity, remote: string) => Promise<Reply> | Reply,
  withBody = false,
  /** Who may call it: null for the open routes (health, readiness, metrics). */
  auth: { readonly verify: Authenticator['verify']; readonly refused: (reason: string) => void } | null = null,
) {
  return (res: HttpResponse, req: HttpRequest) => {
    const url = req.getUrl()
    const query = new URLSearchParams(req.getQuery() ?? '')
    const contentType = req.getHeader('content-type')
    const remote = Buffer.from(res.getRemoteAddressAsText()).toString()
    const token = auth ? tokenOf(query, req.getHeader('authorization')) : null
    const cookie = auth ? req.getHeader('cookie') : ''
    let aborted = false
    res.onAborted(() => (aborted = true))
    const send = (reply: Reply) => {
      if (aborted) return
      res.cork(() => {
        res.writeStatus(STATUS[reply.status] ?? `${reply.status}`)
        res.writeHeader('content-type', reply.type ?? 'text/plain; charset=utf-8')
        for (const [k, v] of Object.entries(reply.headers ?? {})) res.writeHeader(k, v)
        res.end(reply.body)
      })
    }
    // uWS streams the body only to a reader attached now, so it is read while the token is checked;
    // nothing is loaded, computed or stored before both are known.
    const body = withBody ? readBody(res) : Promise.resolve(null)
    const identity: Promise<Identity | Reply> = auth
      ? auth.verify({ token, cookie, remote }).catch((err: unknown) => refusal(err, auth.refused))
      : Promise.resolve(OPEN_IDENTITY)
    Promise.all([identity, body])
      .then(([who, bytes]) => {
        if ('status' in who) return who
        return bytes === 'too-large' ? problem(HttpErrors.BODY_TOO_LARGE, { max: MAX_BODY_BYTES }) : handler(url, query, bytes, contentType, who, remote)
      })
      .then(send, (err: unknown) => {
        logger.error({ err, url }, 'http handler failed')
        send(problem(HttpErrors.INTERNAL))
      })
  }
}

/** The answer to a token that was refused (401, with the scheme the client should use). */
function refusal(err: unknown, refused: (reason: string) => void): Reply {
  if (!(err instanceof AuthError)) throw err
  refused(err.failure)
  if (err.failure === 'unavailable') return { ...problem(HttpErrors.AUTH_UNAVAILABLE, { reason: err.detail }), headers: { 'retry-after': '5' } }
  const reply = err.failure === 'expired' ? problem(HttpErrors.TOKEN_EXPIRED) : problem(HttpErrors.UNAUTHORIZED, { reason: err.message })
  return { ...reply, headers: { 'www-authenticate': 'Bearer' } }
}

/** A 429 or 503 with the seconds to wait. */
const limited = (reply: Reply, seconds: number): Reply => ({ ...reply, headers: { 'retry-after': String(seconds) } })

/** Null when `identity` has `right` to `name`, else the 403. */
function lacks(identity: Identity, name: string, right: 'read' | 'write'): Reply | null {
  const has = identity.rightTo(name)
  if (has === 'write' || (right === 'read' && canRead(has))) return null
  return problem(HttpErrors.FORBIDDEN, { right, name: JSON.stringify(name) })
}

function readBody(res: HttpResponse): Promise<Uint8Array | 'too-large'> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = []
    let size = 0
    let over = false
    res.onData((chunk, isLast) => {
      if (over) return
      size += chunk.byteLength
      if (size > MAX_BODY_BYTES) {
        // Answer at once: an endless upload must not hold the connection.
        over = true
        return resolve('too-large')
      }
      chunks.push(new Uint8Array(chunk.slice(0)))
      if (!isLast) return
      const out = new Uint8Array(size)
      let at = 0
      for (const c of chunks) {
        out.set(c, at)
        at += c.length
      }
      resolve(out)
    })
  })
}

/** One URL path segment, percent-decoded; a bad escape is the client's error (`badEscape`). */
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

const badInput = (error: typeof HttpErrors.BAD_QUERY | typeof HttpErrors.BAD_BODY, issues: z.ZodError) => problem(error, { issue: describeIssue(issues) })

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

/** `/metrics` for Prometheus: on the main app, or on its own (METRICS_PORT). Its labels never name documents or tokens. */
export function mountMetrics(app: TemplatedApp, metrics: Metrics, logger: Logger): void {
  app.get(
    '/metrics',
    route(logger, async () => {
      for (const refresh of metrics.beforeScrape) refresh()
      return { status: 200, body: await metrics.registry.metrics(), type: metrics.registry.contentType }
    }),
  )
}

/** `{"jti": "…"}` revokes one token; `{"sub": "…"}` every token of a subject issued until now. */
const RevokeBody = z.union([z.strictObject({ jti: z.string().min(1).max(256) }), z.strictObject({ sub: z.string().min(1).max(256) })])

export function mountHttp(app: TemplatedApp, deps: HttpDeps): void {
  const { logger, metrics, store } = deps
  const access = deps.auth.open ? null : { verify: deps.auth.verify, refused: (reason: string) => metrics.authRefused.inc({ reason }) }
  // One bucket per address, for the most recent addresses (an old one starts full again).
  const buckets = new LRUCache<string, TokenBucket>({ max: 10_000 })
  const computeRate = (remote: string): boolean => {
    let bucket = buckets.get(remote)
    if (!bucket) buckets.set(remote, (bucket = new TokenBucket(deps.limits.computeRequestsPerS, 4 * deps.limits.computeRequestsPerS)))
    if (bucket.take(1)) return true
    metrics.httpRateLimited.inc()
    return false
  }
  /** A route that needs a token (unless the server runs open). */
  const guarded = (handler: Parameters<typeof route>[1], withBody = false) => route(logger, handler, withBody, access)
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
      if (!contentType.startsWith('application/json')) return problem(HttpErrors.BAD_CONTENT_TYPE)
      let parsed: unknown
      try {
        parsed = JSON.parse(new TextDecoder().decode(body ?? new Uint8Array()))
      } catch {
        return problem(HttpErrors.BAD_JSON)
      }
      const input = SnapshotBody.safeParse(parsed)
      if (!input.success) return badInput(HttpErrors.BAD_BODY, input.error)
      const doc = await existing(name)
      if (!(doc instanceof SharedDoc)) return doc
      // The whole state, encoded by the compute worker's copy (never on the event loop).
      const state = await compute(() => deps.compute.encodeState(doc))
      if (!(state instanceof Uint8Array)) return state
      try {
        const info = await store.saveVersion(name, input.data.label, state)
        return json(201, info)
      } catch (err) {
        logger.error({ err, doc: name }, 'saving a named version failed')
        return problem(HttpErrors.VERSION_UNAVAILABLE)
      }
    }, true),
  )

  app.post(
    '/api/admin/revocations',
    guarded(async (_url, _query, body, contentType, identity) => {
      if (!identity.admin) return problem(HttpErrors.ADMIN_ONLY)
      if (!contentType.startsWith('application/json')) return problem(HttpErrors.BAD_REVOCATION_TYPE)
      let parsed: unknown
      try {
        parsed = JSON.parse(new TextDecoder().decode(body ?? new Uint8Array()))
      } catch {
        return problem(HttpErrors.BAD_JSON)
      }
      const input = RevokeBody.safeParse(parsed)
      if (!input.success) return badInput(HttpErrors.BAD_BODY, input.error)
      const [kind, value] = 'jti' in input.data ? (['jti', input.data.jti] as const) : (['sub', input.data.sub] as const)
      const { revocation, closed } = await deps.revoke(kind, value)
      return json(201, { ...revocation, closedHere: closed })
    }, true),
  )

  app.any(
    '/*',
    route(logger, () => problem(HttpErrors.ROUTE_NOT_FOUND)),
  )
}
