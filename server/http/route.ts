/**
 * One HTTP request on uWS, from bytes to a reply: who is asking (the token, decided before the
 * body is used or anything loaded), the body (bounded), and the answer from the error
 * catalogue. uWS rules: read everything from `req` before the first await, register
 * onAborted, and write inside `cork` after an await only if the request was not aborted.
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js'
import type { z } from 'zod'
import { describeIssue } from '../../shared/schema/domain.ts'
import { canRead, type Identity, OPEN_IDENTITY } from '../auth/claims.ts'
import { AuthError, type Authenticator, tokenOf } from '../auth/verifier.ts'
import type { Logger } from '../log.ts'
import { errorBody, type HttpError, HttpErrors, type Values } from './errors.ts'

export type Handler = (
  url: string,
  query: URLSearchParams,
  body: Uint8Array | null,
  contentType: string,
  identity: Identity,
  remote: string,
) => Promise<Reply> | Reply

export interface Reply {
  status: number
  body: string | Uint8Array
  type?: string
  headers?: Record<string, string>
}

/** Largest request body accepted (JSON commands only; documents never travel over REST). */
export const MAX_BODY_BYTES = 16 * 1024

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

export const json = (status: number, value: unknown): Reply => ({ status, body: JSON.stringify(value), type: 'application/json' })
/** An error answer from the catalogue (errors.ts): its status, code and filled-in message. */
export const problem = <M extends string>(error: HttpError<M>, ...values: Values<M>): Reply => json(error.status, errorBody(error, ...values))

/**
 * Runs an async handler with the uWS abort/cork discipline. With `withBody`, the request
 * body is read first (copied: uWS reuses its buffers), up to MAX_BODY_BYTES (else 413).
 */
export function route(
  logger: Logger,
  handler: Handler,
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
export function refusal(err: unknown, refused: (reason: string) => void): Reply {
  if (!(err instanceof AuthError)) throw err
  refused(err.failure)
  if (err.failure === 'unavailable') return { ...problem(HttpErrors.AUTH_UNAVAILABLE, { reason: err.detail }), headers: { 'retry-after': '5' } }
  const reply = err.failure === 'expired' ? problem(HttpErrors.TOKEN_EXPIRED) : problem(HttpErrors.UNAUTHORIZED, { reason: err.message })
  return { ...reply, headers: { 'www-authenticate': 'Bearer' } }
}

/** A 429 or 503 with the seconds to wait. */
export const limited = (reply: Reply, seconds: number): Reply => ({ ...reply, headers: { 'retry-after': String(seconds) } })

/** Null when `identity` has `right` to `name`, else the 403. */
export function lacks(identity: Identity, name: string, right: 'read' | 'write'): Reply | null {
  const has = identity.rightTo(name)
  if (has === 'write' || (right === 'read' && canRead(has))) return null
  return problem(HttpErrors.FORBIDDEN, { right, name: JSON.stringify(name) })
}

export function readBody(res: HttpResponse): Promise<Uint8Array | 'too-large'> {
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

export const badInput = (error: typeof HttpErrors.BAD_QUERY | typeof HttpErrors.BAD_BODY, issues: z.ZodError) =>
  problem(error, { issue: describeIssue(issues) })

/** A JSON body checked against `schema`: its value, or the reply that refuses it (415, 400). */
export function jsonBody<T>(
  body: Uint8Array | null,
  contentType: string,
  schema: z.ZodType<T>,
  wrongType: typeof HttpErrors.BAD_CONTENT_TYPE | typeof HttpErrors.BAD_REVOCATION_TYPE,
): T | Reply {
  if (!contentType.startsWith('application/json')) return problem(wrongType)
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder().decode(body ?? new Uint8Array()))
  } catch {
    return problem(HttpErrors.BAD_JSON)
  }
  const input = schema.safeParse(parsed)
  return input.success ? input.data : badInput(HttpErrors.BAD_BODY, input.error)
}
