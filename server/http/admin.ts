/**
 * The admin routes: need a token with the admin claim (or a server running open).
 *   POST /api/admin/revocations  {"jti": "…"} | {"sub": "…"}: revokes on every node.
 */
import type { TemplatedApp } from 'uWebSockets.js'
import { z } from 'zod'
import type { Revocation } from '../auth/revocations.ts'
import { HttpErrors } from './errors.ts'
import { type Handler, json, jsonBody, problem, type route } from './route.ts'

/** `{"jti": "…"}` revokes one token; `{"sub": "…"}` every token of a subject issued until now. */
const RevokeBody = z.union([z.strictObject({ jti: z.string().min(1).max(256) }), z.strictObject({ sub: z.string().min(1).max(256) })])

export interface AdminDeps {
  /** Revokes a token id or a subject's tokens, on every node (server/auth/revocation-service.ts). */
  readonly revoke: (kind: 'jti' | 'sub', value: string) => Promise<{ revocation: Revocation; closed: number }>
}

export function mountAdmin(app: TemplatedApp, deps: AdminDeps, guarded: (handler: Handler, withBody?: boolean) => ReturnType<typeof route>): void {
  app.post(
    '/api/admin/revocations',
    guarded(async (_url, _query, body, contentType, identity) => {
      if (!identity.admin) return problem(HttpErrors.ADMIN_ONLY)
      const input = jsonBody(body, contentType, RevokeBody, HttpErrors.BAD_REVOCATION_TYPE)
      if ('status' in input) return input
      const [kind, value] = 'jti' in input ? (['jti', input.jti] as const) : (['sub', input.sub] as const)
      const { revocation, closed } = await deps.revoke(kind, value)
      return json(201, { ...revocation, closedHere: closed })
    }, true),
  )
}
