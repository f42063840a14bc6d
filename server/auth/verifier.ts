/**
 * Authentication: a token in, an Identity out (or an AuthError saying why not). Decided once
 * per connection at the upgrade, and once per REST request, before any document is loaded.
 *
 * Modes (config.ts): JWT with a shared secret (HS256 only) or with the keys of a JWKS URL
 * (RS256 or ES256 only): the algorithm list is fixed per mode, so `alg: none` and HS/RS
 * confusion are refused by jose before any signature is checked. Open mode (no auth
 * configured): every caller is OPEN_IDENTITY; `isOpenAllowed` says when that may start.
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose'
import { AtriumError } from '../../shared/errors.ts'
import type { Config } from '../config.ts'
import { identityOf, OPEN_IDENTITY, type Identity } from './claims.ts'

/** missing, invalid, expired: the token's fault; unavailable: the key set could not be fetched (retry later). */
export type AuthFailure = 'missing' | 'invalid' | 'expired' | 'unavailable'

export class AuthError extends AtriumError {
  override readonly name = 'AuthError'
  constructor(
    readonly failure: AuthFailure,
    readonly detail: string,
  ) {
    super(`${failure} token: ${detail}`)
  }
}

/** The server would listen where anyone may reach it, with no access control. */
export class InsecureStartup extends AtriumError {
  override readonly name = 'InsecureStartup'
}

/** What a connection or request offers to prove who it is (read at the upgrade, before any await). */
export interface AuthRequest {
  /** `?token=` or `Authorization: Bearer` (tokenOf), or null. */
  readonly token: string | null
  readonly cookie: string
  readonly remote: string
}

/**
 * An embedding's own authentication (instead of JWT): who the request is, or null to refuse it
 * (401). Build the identity with `identityOf({ sub, docs: { pattern: right } })` or by hand.
 */
export type AuthenticateHook = (request: AuthRequest) => Promise<Identity | null> | Identity | null

export interface Authenticator {
  /** No auth configured: everyone is OPEN_IDENTITY. */
  readonly open: boolean
  /** The identity of the request; rejects with AuthError. */
  verify(request: AuthRequest): Promise<Identity>
}

/** Tokens longer than this are refused before parsing (a JWT with a few hundred patterns is a few KB). */
const MAX_TOKEN_CHARS = 16 * 1024

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/

/** Whether this configuration may run without auth: AUTH=none, or listening on loopback only. */
function isOpenAllowed(config: Config): boolean {
  return config.AUTH === 'none' || LOOPBACK.test(config.HOST)
}

/** Why the server must not start, or null. One line, saying what to set. */
export function authStartupProblem(config: Config, hook = false): string | null {
  if (hook || config.AUTH === 'none' || config.AUTH_SECRET || config.AUTH_JWKS_URL) return null
  if (isOpenAllowed(config)) return null
  return `refusing to listen on ${config.HOST} without access control: set AUTH_SECRET (HS256) or AUTH_JWKS_URL, or AUTH=none to serve anyone who can reach the port`
}

/** `revoked`: whether a verified token has been revoked since (server/auth/revocations.ts). */
export function createAuthenticator(config: Config, revoked?: (identity: Identity) => boolean, hook?: AuthenticateHook): Authenticator {
  if (hook) {
    return {
      open: false,
      async verify(request) {
        const identity = await hook(request)
        if (!identity) throw new AuthError('invalid', 'refused by the authenticate hook')
        if (identity.exp !== null && identity.exp <= Date.now() / 1000) throw new AuthError('expired', 'exp is in the past')
        if (revoked?.(identity)) throw new AuthError('invalid', 'revoked')
        return identity
      },
    }
  }
  if (config.AUTH === 'none' || (!config.AUTH_SECRET && !config.AUTH_JWKS_URL)) {
    return { open: true, verify: async () => OPEN_IDENTITY }
  }
  const key: Uint8Array | JWTVerifyGetKey = config.AUTH_SECRET
    ? new TextEncoder().encode(config.AUTH_SECRET)
    : createRemoteJWKSet(new URL(config.AUTH_JWKS_URL!), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000, timeoutDuration: 5000 })
  const options = {
    requiredClaims: ['exp'],
    algorithms: config.AUTH_SECRET ? ['HS256'] : ['RS256', 'ES256'],
    clockTolerance: config.AUTH_CLOCK_SKEW_S,
    ...(config.AUTH_ISSUER ? { issuer: config.AUTH_ISSUER } : {}),
    ...(config.AUTH_AUDIENCE ? { audience: config.AUTH_AUDIENCE } : {}),
  }
  return {
    open: false,
    async verify({ token }) {
      if (!token) throw new AuthError('missing', 'no token (send ?token=… or Authorization: Bearer …)')
      if (token.length > MAX_TOKEN_CHARS) throw new AuthError('invalid', `longer than ${MAX_TOKEN_CHARS} characters`)
      let payload: unknown
      try {
        // biome-ignore lint/suspicious/noExplicitAny: jose overloads a key and a key getter; both are handled the same
        ;({ payload } = await jwtVerify(token, key as any, options))
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw new AuthError('expired', 'exp is in the past')
        if (err instanceof joseErrors.JWKSTimeout) throw new AuthError('unavailable', 'the key set (AUTH_JWKS_URL) did not answer in time')
        if (err instanceof joseErrors.JOSEError) throw new AuthError('invalid', err.message)
        // The key set could not be fetched (a network error): not the token's fault.
        throw new AuthError('unavailable', `the key set (AUTH_JWKS_URL) could not be fetched: ${(err as Error).message}`)
      }
      let identity: Identity
      try {
        identity = identityOf(payload)
      } catch (err) {
        throw new AuthError('invalid', `claims: ${(err as Error).message.slice(0, 200)}`)
      }
      // A revocation is kept for AUTH_MAX_TOKEN_TTL_S: no token may outlive that.
      if (identity.exp! > Date.now() / 1000 + config.AUTH_MAX_TOKEN_TTL_S + config.AUTH_CLOCK_SKEW_S)
        throw new AuthError('invalid', `valid for longer than AUTH_MAX_TOKEN_TTL_S (${config.AUTH_MAX_TOKEN_TTL_S} s)`)
      if (revoked?.(identity)) throw new AuthError('invalid', 'revoked')
      return identity
    },
  }
}

/**
 * Whether the key set answers, for a clear line at start-up: until it does, every token is
 * refused with a retryable code (4531, REST 503), and each verification tries it again.
 */
export async function probeJwks(url: string, timeoutMs = 5000): Promise<string | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    if (!res.ok) return `answered ${res.status}`
    const body = (await res.json()) as { keys?: unknown }
    return Array.isArray(body.keys) ? null : 'answered without a "keys" list'
  } catch (err) {
    return (err as Error).message
  }
}

/** The token of a request: `?token=` (what WebsocketProvider's `params` sends) or `Authorization: Bearer`. */
export function tokenOf(query: URLSearchParams, authorization: string): string | null {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)
  return bearer?.[1] ?? query.get('token')
}
